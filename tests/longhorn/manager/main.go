// Command longhorn-manager runs longhorn-manager's own code in the test ground, built from the
// Go module proxy for one Longhorn release (tests/tools/install.sh longhorn-manager <version>):
//
//	serve           the datastore of one Longhorn namespace, the SystemBackup, BackupTarget,
//	                SystemRestore and RecurringJob controllers, the admission webhooks, and a
//	                runner for the Jobs those controllers create (serve.go)
//	system-rollout  longhorn-manager's rollout, run by the rollout Job of a SystemRestore (rollout.go)
//	recurring-job   longhorn-manager's own command, run by the Jobs of a RecurringJob's CronJob
//
// It runs in a mount namespace of its own (tests/ground/src/manager.rs), where /tmp,
// /var/lib/longhorn and the service-account directory are the environment's, as in a pod.
package main

import (
	"os"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli"

	"github.com/longhorn/longhorn-manager/app"
	"github.com/longhorn/longhorn-manager/meta"
)

func main() {
	logrus.SetLevel(logrus.DebugLevel)
	logrus.SetOutput(os.Stderr)

	a := cli.NewApp()
	a.Name = "longhorn-manager"
	a.Usage = "longhorn-manager's controllers and webhooks for the test ground"
	a.Version = meta.Version
	a.Flags = []cli.Flag{
		// longhorn-manager's global debug flag: the Jobs' commands start with `-d`.
		cli.BoolFlag{Name: "debug, d"},
	}
	a.Commands = []cli.Command{
		serveCmd(),
		systemRolloutCmd(),
		app.RecurringJobCmd(),
	}
	if err := a.Run(os.Args); err != nil {
		logrus.WithError(err).Fatal("longhorn-manager failed")
	}
}
