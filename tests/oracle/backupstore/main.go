// backupstore-oracle runs Longhorn's own system-backup store code
// (github.com/longhorn/backupstore/systembackup, the code the engine binary's
// `longhorn system-backup ...` commands run) against a backup target, so tests can
// check that what the plugin writes is what Longhorn reads, and the other way round.
//
// Each command follows the path longhorn-manager takes: it builds the system-backup URL
// with GetSystemBackupURL(name, version, target) (engineapi/system_backup.go), then the
// engine parses it back with ParseSystemBackupURL and calls LoadConfig / Download /
// Upload / Delete (backupstore cmd/system_backup.go). Download therefore opens the
// driver from the BackupTargetURL stored in the cfg, not from the target given here.
//
// Credentials come from the environment exactly as Longhorn passes them to the engine
// binary: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINTS, VIRTUAL_HOSTED_STYLE,
// AWS_CERT (PEM), AZBLOB_ACCOUNT_NAME, AZBLOB_ACCOUNT_KEY, AZBLOB_ENDPOINT, AZBLOB_CERT,
// HTTP(S)_PROXY, NO_PROXY.
//
// usage:
//
//	backupstore-oracle list <targetURL>                      JSON map name -> URI
//	backupstore-oracle get-config <targetURL> <version> <name>  JSON of the cfg
//	backupstore-oracle download <targetURL> <version> <name> <dest>
//	    downloads, verifies the checksum (Longhorn's Download), prints JSON
//	    {"sha256": ..., "size": ..., "backupTargetURL": <cfg's>}
//	backupstore-oracle upload <targetURL> <version> <name> <zip> <gitCommit> <managerImage> <engineImage>
//	    uploads like `longhorn system-backup upload` (a reference to compare with)
//	backupstore-oracle delete <targetURL> <version> <name>
//	backupstore-oracle url <targetURL> <version> <name>
//	    JSON {"systemBackupURL", "backupTarget", "version", "name"}: the URL longhorn-manager
//	    builds and what the engine parses back from it
//
// exit: 0 success; 1 the backupstore call failed (message on stderr); 2 usage error.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/longhorn/backupstore/systembackup"
	"github.com/longhorn/backupstore/util"

	// Drivers register themselves in init(), as in the engine binary.
	_ "github.com/longhorn/backupstore/azblob"
	_ "github.com/longhorn/backupstore/s3"
	_ "github.com/longhorn/backupstore/vfs"
)

// Set by install.sh with -ldflags -X.
var (
	longhornVersion    = "unknown"
	backupstoreVersion = "unknown"
)

func usage() {
	fmt.Fprintf(os.Stderr, `usage: %[1]s list <targetURL>
       %[1]s get-config <targetURL> <version> <name>
       %[1]s download <targetURL> <version> <name> <dest>
       %[1]s upload <targetURL> <version> <name> <zip> <gitCommit> <managerImage> <engineImage>
       %[1]s delete <targetURL> <version> <name>
       %[1]s url <targetURL> <version> <name>
(backupstore %s, as used for Longhorn %s)
`, filepath.Base(os.Args[0]), backupstoreVersion, longhornVersion)
	os.Exit(2)
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	args := os.Args[2:]
	var err error
	switch os.Args[1] {
	case "version":
		err = printJSON(map[string]string{"longhornVersion": longhornVersion, "backupstoreVersion": backupstoreVersion})
	case "list":
		if len(args) != 1 {
			usage()
		}
		err = list(args[0])
	case "get-config":
		if len(args) != 3 {
			usage()
		}
		err = getConfig(args[0], args[1], args[2])
	case "download":
		if len(args) != 4 {
			usage()
		}
		err = download(args[0], args[1], args[2], args[3])
	case "upload":
		if len(args) != 7 {
			usage()
		}
		err = upload(args[0], args[1], args[2], args[3], args[4], args[5], args[6])
	case "delete":
		if len(args) != 3 {
			usage()
		}
		err = remove(args[0], args[1], args[2])
	case "url":
		if len(args) != 3 {
			usage()
		}
		err = showURL(args[0], args[1], args[2])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "backupstore-oracle: %v\n", err)
		os.Exit(1)
	}
}

// resolve goes target -> system-backup URL (longhorn-manager) -> target, version, name
// (engine binary).
func resolve(target, version, name string) (url, backupTarget, v, n string, err error) {
	url, err = systembackup.GetSystemBackupURL(name, version, target)
	if err != nil {
		return
	}
	backupTarget, v, n, err = systembackup.ParseSystemBackupURL(url)
	return
}

func list(target string) error {
	backups, err := systembackup.List(target)
	if err != nil {
		return err
	}
	return printJSON(backups)
}

func getConfig(target, version, name string) error {
	_, backupTarget, v, n, err := resolve(target, version, name)
	if err != nil {
		return err
	}
	cfg, err := systembackup.LoadConfig(n, v, backupTarget)
	if err != nil {
		return err
	}
	return printJSON(cfg)
}

func download(target, version, name, dest string) error {
	_, backupTarget, v, n, err := resolve(target, version, name)
	if err != nil {
		return err
	}
	cfg, err := systembackup.LoadConfig(n, v, backupTarget)
	if err != nil {
		return err
	}
	// Verifies cfg.Checksum (SHA-256) and removes dest on a mismatch.
	if err := systembackup.Download(dest, cfg); err != nil {
		return err
	}
	sum, size, err := fileSHA256(dest)
	if err != nil {
		return err
	}
	return printJSON(map[string]any{"sha256": sum, "size": size, "backupTargetURL": cfg.BackupTargetURL, "path": dest})
}

func upload(target, version, name, zip, gitCommit, managerImage, engineImage string) error {
	_, backupTarget, v, n, err := resolve(target, version, name)
	if err != nil {
		return err
	}
	// As the engine's uploadSystemBackup does.
	sum, err := util.GetFileChecksum(zip)
	if err != nil {
		return err
	}
	cfg := &systembackup.Config{
		Name:              n,
		LonghornVersion:   v,
		LonghornGitCommit: gitCommit,
		BackupTargetURL:   backupTarget,
		ManagerImage:      managerImage,
		EngineImage:       engineImage,
		CreatedAt:         time.Now().UTC(),
		Checksum:          sum,
	}
	if err := systembackup.Upload(zip, cfg); err != nil {
		return err
	}
	return printJSON(cfg)
}

func remove(target, version, name string) error {
	_, backupTarget, v, n, err := resolve(target, version, name)
	if err != nil {
		return err
	}
	return systembackup.Delete(&systembackup.Config{Name: n, LonghornVersion: v, BackupTargetURL: backupTarget})
}

func showURL(target, version, name string) error {
	url, backupTarget, v, n, err := resolve(target, version, name)
	if err != nil {
		return err
	}
	return printJSON(map[string]string{"systemBackupURL": url, "backupTarget": backupTarget, "version": v, "name": n})
}

func fileSHA256(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	size, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), size, nil
}

func printJSON(v any) error {
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	fmt.Println(string(out))
	return nil
}
