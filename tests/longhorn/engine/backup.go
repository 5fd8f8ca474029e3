package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli"

	"github.com/longhorn/backupstore"
	"github.com/longhorn/backupstore/util"
)

// backupCreateCmd stands in for longhorn-engine's `backup create <snapshot> --dest <url>`
// (app/cmd/backup.go), which has the volume's replicas stream the snapshot's changed blocks
// into backupstore. The ground has no replicas: this one runs backupstore's own
// CreateDeltaBlockBackup with a snapshot that holds no data, so the store gets a real
// volume backup (volume.cfg, backup cfg) that Longhorn's sync and restore find, as after a
// backup of an empty volume. The simulator runs it when it completes a Backup CR.
func backupCreateCmd() cli.Command {
	return cli.Command{
		Name:  "create",
		Usage: "create a backup of a snapshot without data: create <snapshot> --dest <url> --backup-name <name> --size <bytes>",
		Flags: []cli.Flag{
			cli.StringFlag{Name: "dest", Usage: "backup target URL"},
			cli.StringFlag{Name: "backup-name"},
			cli.StringSliceFlag{Name: "label", Usage: "key=value"},
			cli.Int64Flag{Name: "size", Usage: "the volume's size in bytes (the engine knows it; the stand-in is told)"},
			cli.StringFlag{Name: "snapshot-created-at", Usage: "RFC 3339 creation time of the snapshot"},
		},
		Action: func(c *cli.Context) {
			url, err := createEmptyBackup(c)
			if err != nil {
				panic(err)
			}
			fmt.Println(url)
		},
	}
}

func createEmptyBackup(c *cli.Context) (string, error) {
	if c.NArg() != 1 {
		return "", fmt.Errorf("snapshot name is required")
	}
	volumeName := c.GlobalString("volume-name")
	if volumeName == "" {
		return "", fmt.Errorf("--volume-name is required")
	}
	labels := map[string]string{}
	for _, label := range c.StringSlice("label") {
		key, value, ok := strings.Cut(label, "=")
		if !ok {
			return "", fmt.Errorf("invalid label %q: use key=value", label)
		}
		labels[key] = value
	}
	now := util.Now()
	snapshotCreated := c.String("snapshot-created-at")
	if snapshotCreated == "" {
		snapshotCreated = now
	}
	replica := &emptyReplica{done: make(chan result, 1)}
	config := &backupstore.DeltaBackupConfig{
		BackupName: c.String("backup-name"),
		Volume: &backupstore.Volume{
			Name:              volumeName,
			Size:              c.Int64("size"),
			Labels:            labels,
			CreatedTime:       now,
			CompressionMethod: "lz4",
			DataEngine:        "v1",
		},
		Snapshot:        &backupstore.Snapshot{Name: c.Args()[0], CreatedTime: snapshotCreated},
		DestURL:         c.String("dest"),
		DeltaOps:        replica,
		Labels:          labels,
		ConcurrentLimit: 1,
		Parameters:      map[string]string{},
	}
	if _, err := backupstore.CreateDeltaBlockBackup(config.BackupName, config); err != nil {
		return "", err
	}
	select {
	case r := <-replica.done:
		if r.err != "" {
			return "", fmt.Errorf("%s", r.err)
		}
		return r.url, nil
	case <-time.After(5 * time.Minute):
		return "", fmt.Errorf("backup %v did not finish in 5 minutes", config.BackupName)
	}
}

type result struct {
	url, err string
}

// emptyReplica is backupstore's view of a replica whose snapshots hold no data.
type emptyReplica struct {
	done chan result
}

func (r *emptyReplica) HasSnapshot(id, volumeID string) bool { return true }

func (r *emptyReplica) OpenSnapshot(id, volumeID string) error { return nil }

func (r *emptyReplica) ReadSnapshot(id, volumeID string, start int64, data []byte) error {
	for i := range data {
		data[i] = 0
	}
	return nil
}

func (r *emptyReplica) CloseSnapshot(id, volumeID string) error { return nil }

// UpdateBackupStatus receives backupstore's progress; a URL or an error ends the backup.
func (r *emptyReplica) UpdateBackupStatus(id, volumeID string, state string, progress int, url string, err string) error {
	logrus.Debugf("backup of %v/%v: %v %v%% %v %v", volumeID, id, state, progress, url, err)
	if url != "" || err != "" {
		select {
		case r.done <- result{url: url, err: err}:
		default:
		}
	}
	return nil
}
