// Package spdk declares only what longhorn-manager v1.10.0 uses from
// github.com/longhorn/longhorn-spdk-engine (controller/monitor: spdkdisk.DiskStateReady): the
// Go module proxy refuses the pseudo-version that release pins, and serves no commit near it.
// Declared as in longhorn/longhorn-spdk-engine:pkg/spdk/disk.go@1a8c3b02ea6e.
package spdk

type DiskState string

const DiskStateReady = DiskState("ready")
