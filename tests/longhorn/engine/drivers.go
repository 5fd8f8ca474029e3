package main

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/longhorn/backupstore"
	"github.com/longhorn/backupstore/fsops"
)

// MountRootEnv names the directory under which the ground keeps what an NFS or SMB mount of
// a target would show: <root>/<scheme>/<host>/<share>, the layout of the ground's mount
// paths (tests/ground/src/mounts.rs), which is also what the plugin's --mount-path reaches.
const MountRootEnv = "LONGHORN_GROUND_MOUNT_ROOT"

// The real nfs and cifs drivers (longhorn/backupstore:nfs/nfs.go, cifs/cifs.go) mount the
// share under /var/lib/longhorn-backupstore-mounts and then hand every operation to
// fsops.FileSystemOperator over the mount point. These drivers skip only the mount: the
// operations are the same fsops code over the directory the mount would show.
func init() {
	for _, kind := range []string{"nfs", "cifs"} {
		kind := kind
		if err := backupstore.RegisterDriver(kind, func(destURL string) (backupstore.BackupStoreDriver, error) {
			return newMountedDriver(kind, destURL)
		}); err != nil {
			panic(err)
		}
	}
}

type mountedDriver struct {
	kind    string
	destURL string
	dir     string
	*fsops.FileSystemOperator
}

func newMountedDriver(kind, destURL string) (backupstore.BackupStoreDriver, error) {
	u, err := url.Parse(destURL)
	if err != nil {
		return nil, err
	}
	if u.Scheme != kind {
		return nil, fmt.Errorf("BUG: Why dispatch %v to %v?", u.Scheme, kind)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%s path must follow format: %s://<server-address>/<share-name>/", strings.ToUpper(kind), kind)
	}
	root := os.Getenv(MountRootEnv)
	if root == "" {
		return nil, fmt.Errorf("cannot mount %v %v: %s is not set, the ground has no mounts", kind, u.Host+u.Path, MountRootEnv)
	}
	host := strings.NewReplacer(":", "_", "/", "_").Replace(strings.TrimRight(u.Host, ":"))
	dir := filepath.Join(root, kind, host, strings.Trim(u.Path, "/"))
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		return nil, fmt.Errorf("cannot mount %v %v: mount.%v: No such file or directory (the ground has no share at %v)", kind, u.Host+u.Path, kind, dir)
	}
	d := &mountedDriver{kind: kind, destURL: kind + "://" + u.Host + u.Path, dir: dir}
	d.FileSystemOperator = fsops.NewFileSystemOperator(d)
	return d, nil
}

func (d *mountedDriver) Kind() string { return d.kind }

func (d *mountedDriver) GetURL() string { return d.destURL }

func (d *mountedDriver) LocalPath(path string) string { return filepath.Join(d.dir, path) }
