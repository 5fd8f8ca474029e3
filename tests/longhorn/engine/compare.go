//go:build !bs_block_size

package main

import "github.com/longhorn/backupstore/types"

// CompareSnapshot for backupstore before block sizes were configurable: no changed blocks.
func (r *emptyReplica) CompareSnapshot(id, compareID, volumeID string) (*types.Mappings, error) {
	return &types.Mappings{BlockSize: 2 << 20}, nil
}
