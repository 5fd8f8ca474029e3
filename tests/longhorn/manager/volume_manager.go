//go:build !lhm_snapshot_limiter

package main

import (
	"github.com/longhorn/longhorn-manager/datastore"
	"github.com/longhorn/longhorn-manager/manager"
	"github.com/longhorn/longhorn-manager/util"
)

// newVolumeManager for releases before v1.11, whose VolumeManager takes no snapshot limiter.
func newVolumeManager(nodeID string, ds *datastore.DataStore) *manager.VolumeManager {
	return manager.NewVolumeManager(nodeID, ds, util.NewAtomicCounter())
}
