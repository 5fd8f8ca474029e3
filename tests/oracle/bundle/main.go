// bundle-oracle reads a Longhorn system-backup zip the way Longhorn's restore does and
// prints what restore would see, as JSON.
//
// It re-implements SystemRolloutController.Unpack and cacheResourcesFromDirectory of
// github.com/longhorn/longhorn-manager/controller/system_rollout_controller.go (the
// method is unexported and needs a live datastore, so it cannot be called): run the
// external `unzip <zip>` in a fresh directory, then for each of
// <dir>/<name>/yamls/{kubernetes,apiextensions,longhorn} read every non-directory
// entry, decode it with serializer.NewCodecFactory(scheme).UniversalDeserializer() and
// dispatch on the decoded kind. The schemes are the ones restore uses:
//
//	kubernetes/    k8s.io/client-go/kubernetes/scheme.Scheme
//	apiextensions/ apiextensions.k8s.io/v1 only
//	longhorn/      github.com/longhorn/longhorn-manager/k8s/pkg/apis/longhorn/v1beta2 only
//
// The wrapper module that install.sh generates pins longhorn-manager to one Longhorn
// release, so the v1beta2 types (and the k8s.io versions behind the other schemes) are
// that release's.
//
// Behaviour mirrored from Longhorn, reported rather than hidden:
//   - A directory that does not exist is ignored (ENOENT returns nil). A zip whose
//     top-level folder is not exactly <name> therefore "restores nothing", silently.
//   - A decode error aborts Unpack ("failed to extract ... resources").
//   - An unreadable file is skipped with a warning.
//   - A kind outside the switch is only a warning ("Unknown resource kind").
//   - Two files that decode to the same kind: the later one (os.ReadDir order, by
//     name) replaces the earlier one.
//
// usage: bundle-oracle <system-backup.zip> <system-backup-name>
// exit: 0 report printed (even for "restores nothing" and warnings); 1 report printed
// and Longhorn's Unpack would fail (unzip failure, decode error, unreadable
// directory); 2 usage error.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	storagev1 "k8s.io/api/storage/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	kubernetesscheme "k8s.io/client-go/kubernetes/scheme"

	longhorn "github.com/longhorn/longhorn-manager/k8s/pkg/apis/longhorn/v1beta2"
)

// Set by install.sh with -ldflags -X main.longhornVersion=<tag>.
var longhornVersion = "unknown"

// Directory names and kinds: longhorn-manager types/types.go (SystemBackupSubDir*,
// *Kind*List), identical in v1.8.1, v1.9.0, v1.10.0, v1.11.1 and v1.12.0. They are
// copied rather than imported because package types pulls in longhorn-manager's util
// package and its heavy dependencies.
const (
	subDirYaml          = "yamls"
	subDirKubernetes    = "kubernetes"
	subDirAPIExtensions = "apiextensions"
	subDirLonghorn      = "longhorn"
)

// The kinds restore's switch knows; anything else is "Unknown resource kind".
var knownKinds = map[string]bool{
	"CustomResourceDefinitionList": true,
	"ClusterRoleList":              true,
	"ClusterRoleBindingList":       true,
	"RoleList":                     true,
	"RoleBindingList":              true,
	"DaemonSetList":                true,
	"DeploymentList":               true,
	"PersistentVolumeList":         true,
	"PersistentVolumeClaimList":    true,
	"ServiceAccountList":           true,
	"ServiceList":                  true,
	"ConfigMapList":                true,
	"StorageClassList":             true,
	"EngineImageList":              true,
	"RecurringJobList":             true,
	"SettingList":                  true,
	"VolumeList":                   true,
	"BackingImageList":             true,
	"BackupTargetList":             true,
}

type kindReport struct {
	// Directory and file the (last) list of this kind came from, e.g. "longhorn/volumes.yaml".
	File string `json:"file"`
	// apiVersion the decoder resolved.
	APIVersion string `json:"apiVersion"`
	Count      int    `json:"count"`
	// "namespace/name" for namespaced items, "name" otherwise; in file order.
	Items []string `json:"items"`
	// Fields restore reads, per item (only for the kinds that have them).
	Volumes       []volumeFields       `json:"volumes,omitempty"`
	BackingImages []backingImageFields `json:"backingImages,omitempty"`
	PVs           []pvFields           `json:"persistentVolumes,omitempty"`
	PVCs          []pvcFields          `json:"persistentVolumeClaims,omitempty"`
	Settings      []settingFields      `json:"settings,omitempty"`
	// Files of the same kind that an alphabetically later file replaced.
	Replaced []string `json:"replaced,omitempty"`
}

type volumeFields struct {
	Name       string `json:"name"`
	LastBackup string `json:"lastBackup"`
	IsStandby  bool   `json:"isStandby"`
}

type backingImageFields struct {
	Name     string `json:"name"`
	Checksum string `json:"checksum"`
}

type pvFields struct {
	Name string `json:"name"`
	// nil when spec.csi is absent (restore dereferences spec.csi.volumeHandle).
	VolumeHandle *string `json:"volumeHandle"`
}

type pvcFields struct {
	Namespace  string `json:"namespace"`
	Name       string `json:"name"`
	VolumeName string `json:"volumeName"`
}

type settingFields struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type fileError struct {
	Directory string `json:"directory"`
	File      string `json:"file"`
	Error     string `json:"error"`
}

type directoryReport struct {
	Present bool `json:"present"`
	// Entries os.ReadDir returned, in its (name) order; sub-directories marked "/".
	Entries []string `json:"entries"`
}

type report struct {
	LonghornVersion string `json:"longhornVersion"`
	Zip             string `json:"zip"`
	Name            string `json:"name"`
	// Top-level entries after unzip ("x/" for directories).
	TopLevel []string `json:"topLevel"`
	// Whether <name>/ exists after unzip.
	TopLevelFolderFound bool `json:"topLevelFolderFound"`
	// True when no list of a known kind was cached: Longhorn's restore would create nothing.
	RestoresNothing bool                        `json:"restoresNothing"`
	Directories     map[string]*directoryReport `json:"directories"`
	Kinds           map[string]*kindReport      `json:"kinds"`
	// Decode errors (each fails Unpack in Longhorn, which stops at the first one).
	DecodeErrors []fileError `json:"decodeErrors"`
	// Unknown kinds, unreadable files, replaced lists, restore hazards.
	Warnings []string `json:"warnings"`
	// The error Longhorn's Unpack would return, or "" when it would succeed.
	UnpackError string `json:"unpackError"`
}

func main() {
	if len(os.Args) != 3 || os.Args[1] == "-h" || os.Args[1] == "--help" {
		fmt.Fprintf(os.Stderr, "usage: %s <system-backup.zip> <system-backup-name>\n(bundle-oracle built against longhorn-manager %s)\n", filepath.Base(os.Args[0]), longhornVersion)
		os.Exit(2)
	}
	zipPath, name := os.Args[1], os.Args[2]
	abs, err := filepath.Abs(zipPath)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bundle-oracle: %v\n", err)
		os.Exit(2)
	}
	if st, err := os.Stat(abs); err != nil || st.IsDir() {
		fmt.Fprintf(os.Stderr, "bundle-oracle: %s is not a readable file\n", zipPath)
		os.Exit(2)
	}

	work, err := os.MkdirTemp("", "bundle-oracle-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "bundle-oracle: %v\n", err)
		os.Exit(2)
	}
	defer os.RemoveAll(work)

	r := &report{
		LonghornVersion: longhornVersion,
		Zip:             zipPath,
		Name:            name,
		TopLevel:        []string{},
		Directories:     map[string]*directoryReport{},
		Kinds:           map[string]*kindReport{},
		DecodeErrors:    []fileError{},
		Warnings:        []string{},
	}
	unpack(r, work, abs)
	out, _ := json.MarshalIndent(r, "", "  ")
	fmt.Println(string(out))
	if r.UnpackError != "" {
		os.Exit(1)
	}
}

func unpack(r *report, work, zipPath string) {
	// Longhorn downloads to /tmp/<system-restore-name>.zip and runs `unzip <path>` in
	// /tmp. Copy the zip into the fresh directory so unzip's cwd layout matches.
	downloadPath := filepath.Join(work, "system-restore.zip")
	if err := copyFile(zipPath, downloadPath); err != nil {
		r.UnpackError = err.Error()
		return
	}
	cmd := exec.Command("unzip", downloadPath)
	cmd.Dir = filepath.Dir(downloadPath)
	if out, err := cmd.CombinedOutput(); err != nil {
		r.UnpackError = fmt.Sprintf("failed to unzip %v: %v: %s", downloadPath, err, strings.TrimSpace(string(out)))
		return
	}
	_ = os.Remove(downloadPath)

	top, _ := os.ReadDir(work)
	for _, e := range top {
		n := e.Name()
		if e.IsDir() {
			n += "/"
		}
		r.TopLevel = append(r.TopLevel, n)
	}
	if st, err := os.Stat(filepath.Join(work, r.Name)); err == nil && st.IsDir() {
		r.TopLevelFolderFound = true
	} else {
		r.Warnings = append(r.Warnings, fmt.Sprintf(
			"top-level folder %q is not in the zip (top level: %v); Longhorn ignores the missing yamls directories (ENOENT) and restores nothing, without an error",
			r.Name, r.TopLevel))
	}

	apiextScheme := runtime.NewScheme()
	if err := apiextensionsv1.SchemeBuilder.AddToScheme(apiextScheme); err != nil {
		r.UnpackError = err.Error()
		return
	}
	longhornScheme := runtime.NewScheme()
	if err := longhorn.SchemeBuilder.AddToScheme(longhornScheme); err != nil {
		r.UnpackError = err.Error()
		return
	}
	// Same order as Unpack: Kubernetes, API extensions, Longhorn.
	steps := []struct {
		sub, what string
		scheme    *runtime.Scheme
	}{
		{subDirKubernetes, "Kubernetes", kubernetesscheme.Scheme},
		{subDirAPIExtensions, "API Extensions", apiextScheme},
		{subDirLonghorn, "Longhorn", longhornScheme},
	}
	for _, step := range steps {
		dir := filepath.Join(work, r.Name, subDirYaml, step.sub)
		if err := cacheResourcesFromDirectory(r, step.sub, dir, step.scheme); err != nil && r.UnpackError == "" {
			r.UnpackError = fmt.Sprintf("failed to extract %s resources: %v", step.what, err)
		}
	}
	r.RestoresNothing = len(r.Kinds) == 0
}

// cacheResourcesFromDirectory follows Longhorn's method of the same name. Unlike
// Longhorn it goes on after a decode error so that every error is reported; the first
// one is returned, which is what Longhorn would fail with.
func cacheResourcesFromDirectory(r *report, sub, name string, scheme *runtime.Scheme) error {
	codecs := serializer.NewCodecFactory(scheme)
	dr := &directoryReport{Entries: []string{}}
	r.Directories[sub] = dr

	files, err := os.ReadDir(name)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return fmt.Errorf("failed to read directory %v: %w", name, err)
	}
	dr.Present = true

	var first error
	for _, f := range files {
		if f.IsDir() {
			dr.Entries = append(dr.Entries, f.Name()+"/")
			continue
		}
		dr.Entries = append(dr.Entries, f.Name())

		rel := sub + "/" + f.Name()
		contents, err := os.ReadFile(filepath.Join(name, f.Name()))
		if err != nil {
			r.Warnings = append(r.Warnings, fmt.Sprintf("Failed to read file %v: %v (skipped)", rel, err))
			continue
		}

		decode := codecs.UniversalDeserializer().Decode
		obj, gvk, err := decode(contents, nil, nil)
		if err != nil {
			r.DecodeErrors = append(r.DecodeErrors, fileError{Directory: sub, File: f.Name(), Error: err.Error()})
			if first == nil {
				first = fmt.Errorf("%s: %w", rel, err)
			}
			continue
		}

		if !knownKinds[gvk.Kind] {
			r.Warnings = append(r.Warnings, fmt.Sprintf("Unknown resource kind %v (%v)", gvk.Kind, rel))
			continue
		}
		kr, err := describe(r, obj, gvk.Kind)
		if err != nil {
			// Longhorn does an unchecked type assertion here; a mismatch would panic.
			r.DecodeErrors = append(r.DecodeErrors, fileError{Directory: sub, File: f.Name(), Error: err.Error()})
			if first == nil {
				first = fmt.Errorf("%s: %w", rel, err)
			}
			continue
		}
		kr.File = rel
		kr.APIVersion = gvk.GroupVersion().String()
		if prev, ok := r.Kinds[gvk.Kind]; ok {
			kr.Replaced = append(prev.Replaced, prev.File)
			r.Warnings = append(r.Warnings, fmt.Sprintf("%v in %v replaces the %v from %v (restore keeps only the last list of a kind)", gvk.Kind, rel, gvk.Kind, prev.File))
		}
		r.Kinds[gvk.Kind] = kr
	}
	return first
}

// describe does the type assertion Longhorn's switch does and extracts what restore reads.
func describe(r *report, obj runtime.Object, kind string) (*kindReport, error) {
	want := map[string]runtime.Object{
		"CustomResourceDefinitionList": &apiextensionsv1.CustomResourceDefinitionList{},
		"ClusterRoleList":              &rbacv1.ClusterRoleList{},
		"ClusterRoleBindingList":       &rbacv1.ClusterRoleBindingList{},
		"RoleList":                     &rbacv1.RoleList{},
		"RoleBindingList":              &rbacv1.RoleBindingList{},
		"DaemonSetList":                &appsv1.DaemonSetList{},
		"DeploymentList":               &appsv1.DeploymentList{},
		"PersistentVolumeList":         &corev1.PersistentVolumeList{},
		"PersistentVolumeClaimList":    &corev1.PersistentVolumeClaimList{},
		"ServiceAccountList":           &corev1.ServiceAccountList{},
		"ServiceList":                  &corev1.ServiceList{},
		"ConfigMapList":                &corev1.ConfigMapList{},
		"StorageClassList":             &storagev1.StorageClassList{},
		"EngineImageList":              &longhorn.EngineImageList{},
		"RecurringJobList":             &longhorn.RecurringJobList{},
		"SettingList":                  &longhorn.SettingList{},
		"VolumeList":                   &longhorn.VolumeList{},
		"BackingImageList":             &longhorn.BackingImageList{},
		"BackupTargetList":             &longhorn.BackupTargetList{},
	}[kind]
	if fmt.Sprintf("%T", obj) != fmt.Sprintf("%T", want) {
		return nil, fmt.Errorf("decoded %v as %T, restore asserts %T", kind, obj, want)
	}

	items, err := meta.ExtractList(obj)
	if err != nil {
		return nil, err
	}
	kr := &kindReport{Count: len(items), Items: []string{}}
	for _, item := range items {
		m, err := meta.Accessor(item)
		if err != nil {
			return nil, err
		}
		id := m.GetName()
		if m.GetNamespace() != "" {
			id = m.GetNamespace() + "/" + id
		}
		kr.Items = append(kr.Items, id)
	}

	switch list := obj.(type) {
	case *longhorn.VolumeList:
		kr.Volumes = []volumeFields{}
		for _, v := range list.Items {
			kr.Volumes = append(kr.Volumes, volumeFields{Name: v.Name, LastBackup: v.Status.LastBackup, IsStandby: v.Status.IsStandby})
		}
	case *longhorn.BackingImageList:
		kr.BackingImages = []backingImageFields{}
		for _, b := range list.Items {
			kr.BackingImages = append(kr.BackingImages, backingImageFields{Name: b.Name, Checksum: b.Status.Checksum})
		}
	case *corev1.PersistentVolumeList:
		kr.PVs = []pvFields{}
		for _, pv := range list.Items {
			f := pvFields{Name: pv.Name}
			if pv.Spec.CSI != nil {
				h := pv.Spec.CSI.VolumeHandle
				f.VolumeHandle = &h
			} else {
				r.Warnings = append(r.Warnings, fmt.Sprintf("PersistentVolume %v has no spec.csi; restore dereferences spec.csi.volumeHandle when the PV does not exist", pv.Name))
			}
			kr.PVs = append(kr.PVs, f)
		}
	case *corev1.PersistentVolumeClaimList:
		kr.PVCs = []pvcFields{}
		for _, pvc := range list.Items {
			kr.PVCs = append(kr.PVCs, pvcFields{Namespace: pvc.Namespace, Name: pvc.Name, VolumeName: pvc.Spec.VolumeName})
		}
	case *longhorn.SettingList:
		kr.Settings = []settingFields{}
		for _, s := range list.Items {
			kr.Settings = append(kr.Settings, settingFields{Name: s.Name, Value: s.Value})
		}
	}
	return kr, nil
}

func copyFile(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, data, 0o600)
}
