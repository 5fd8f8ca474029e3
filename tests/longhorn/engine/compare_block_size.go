//go:build bs_block_size

package main

import "github.com/longhorn/backupstore/types"

// CompareSnapshot for backupstore with configurable block sizes: no changed blocks.
func (r *emptyReplica) CompareSnapshot(id, compareID, volumeID string, blockSize int64) (*types.Mappings, error) {
	return &types.Mappings{BlockSize: blockSize}, nil
}
