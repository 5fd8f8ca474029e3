//go:build lhm_snapshot_limiter

package main

import (
	"github.com/longhorn/longhorn-manager/controller"
	"github.com/longhorn/longhorn-manager/datastore"
	"github.com/longhorn/longhorn-manager/manager"
	"github.com/longhorn/longhorn-manager/util"
)

// newVolumeManager for v1.11 and later: the VolumeManager takes the daemon's snapshot
// limiter (app/daemon.go).
func newVolumeManager(nodeID string, ds *datastore.DataStore) *manager.VolumeManager {
	return manager.NewVolumeManager(nodeID, ds, util.NewAtomicCounter(), controller.NewSnapshotConcurrentLimiter())
}
