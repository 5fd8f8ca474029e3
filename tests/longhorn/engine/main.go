// Command longhorn stands in for the longhorn-engine binary in the test ground. It serves
// the commands longhorn-manager runs as <engine-binaries>/<canonical image>/longhorn for the
// backup store (longhorn/longhorn-manager:engineapi/backups.go, backup_backing_image.go,
// system_backup.go), and nothing else: every action is backupstore's own code
// (github.com/longhorn/backupstore/cmd), registered under the command names and global flags
// of longhorn/longhorn-engine:main.go and app/cmd/backup.go, app/cmd/system_backup.go.
//
// Three things differ from the real binary, all documented in docs/testing.md:
//   - `backup create` writes a backup of a snapshot without data (backup.go): the ground has
//     no replicas to read, and everything else is backupstore's CreateDeltaBlockBackup;
//   - nfs:// and cifs:// targets use the directory a mount would show (drivers.go): the ground
//     has no NFS or SMB server, and everything after the mount is backupstore's fsops code;
//   - a test can make a command fail or hang (faults.go), the way an unreachable or stalled
//     store would; linked as zip or unzip, it does the same for the archive tools
//     longhorn-manager runs while generating a system backup and unpacking one.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli"

	"github.com/longhorn/backupstore/cmd"

	// Store drivers register themselves in init(), as
	// longhorn/longhorn-engine:pkg/backup/import_backupstores.go imports them.
	_ "github.com/longhorn/backupstore/azblob"
	_ "github.com/longhorn/backupstore/s3"
	_ "github.com/longhorn/backupstore/vfs"
)

func main() {
	if tool := filepath.Base(os.Args[0]); tool == "zip" || tool == "unzip" {
		runTool(tool, os.Args[1:])
		return
	}
	defer exitOnPanic()
	applyFault(commandKey(os.Args[1:]), true)

	app := cli.NewApp()
	app.Name = "longhorn"
	app.Usage = "the backup-store commands of the Longhorn engine binary, for the test ground"
	app.Flags = []cli.Flag{
		cli.StringFlag{Name: "url", Value: "http://localhost:9501"},
		cli.StringFlag{Name: "volume-name"},
		cli.StringFlag{Name: "engine-instance-name"},
		cli.BoolFlag{Name: "debug"},
	}
	app.Before = func(c *cli.Context) error {
		if c.GlobalBool("debug") {
			logrus.SetLevel(logrus.DebugLevel)
		}
		return nil
	}
	app.Commands = []cli.Command{
		{
			Name:      "backups",
			ShortName: "backup",
			Subcommands: []cli.Command{
				backupCreateCmd(),
				cmd.BackupCleanupAllMountsCmd(),
				cmd.BackupRemoveCmd(),
				cmd.BackupListCmd(),
				cmd.InspectVolumeCmd(),
				cmd.InspectBackupCmd(),
				cmd.GetConfigMetadataCmd(),
				cmd.BackupBackingImageListCmd(),
				cmd.BackupBackingImageRemoveCmd(),
				cmd.InspectBackingImageCmd(),
			},
		},
		{
			Name: "system-backup",
			Subcommands: []cli.Command{
				cmd.SystemBackupUploadCmd(),
				cmd.SystemBackupDeleteCmd(),
				cmd.SystemBackupDownloadCmd(),
				cmd.SystemBackupListCmd(),
				cmd.SystemBackupGetConfigCmd(),
			},
		},
	}
	app.CommandNotFound = func(c *cli.Context, command string) {
		panic(fmt.Errorf("unrecognized command: %s", command))
	}
	app.OnUsageError = func(c *cli.Context, err error, isSubcommand bool) error {
		panic(fmt.Errorf("usage error, please check your command"))
	}
	if err := app.Run(os.Args); err != nil {
		logrus.WithError(err).Fatal("Error when executing command")
	}
}

// exitOnPanic answers a panic the way longhorn-engine's main.go cleanup does: the message on
// stdout (which longhorn-manager puts into its error) and in the log, then exit status 1.
func exitOnPanic() {
	r := recover()
	if r == nil {
		return
	}
	if err, ok := r.(error); ok {
		if _, isRuntime := err.(runtime.Error); !isRuntime {
			logrus.Errorln(err.Error())
			fmt.Println(err.Error())
			os.Exit(1)
		}
	}
	logrus.Errorln("Caught FATAL error: ", r)
	fmt.Println("Caught FATAL error: ", r)
	os.Exit(1)
}
