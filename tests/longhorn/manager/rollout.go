package main

import (
	"github.com/cockroachdb/errors"
	"github.com/sirupsen/logrus"
	"github.com/urfave/cli"

	"github.com/longhorn/longhorn-manager/controller"
	"github.com/longhorn/longhorn-manager/datastore"
	"github.com/longhorn/longhorn-manager/types"
	"github.com/longhorn/longhorn-manager/util"
)

// systemRolloutCmd is longhorn-manager's `system-rollout <SystemRestore>` (app/system_rollout.go),
// the command of the rollout Job the SystemRestore controller creates: the same controller
// (controller.NewSystemRolloutController) on the same kind of datastore, with two
// differences that change its speed, not what it does: the client may send the daemon's 50
// requests per second (types.KubeAPIQPS) instead of client-go's default 5, and the Longhorn
// informers watch this namespace only (see serve.go). At 5 requests per second a restore on
// the ground's shared API server spends most of its time throttled.
func systemRolloutCmd() cli.Command {
	return cli.Command{
		Name:  "system-rollout",
		Usage: "restore the bundle of a SystemRestore: system-rollout <SystemRestore name>",
		Flags: []cli.Flag{
			cli.StringFlag{Name: "namespace", EnvVar: types.EnvPodNamespace},
		},
		Action: func(c *cli.Context) {
			if err := systemRollout(c); err != nil {
				logrus.Fatalln(err)
			}
		},
	}
}

func systemRollout(c *cli.Context) error {
	if c.NArg() != 1 {
		return errors.New("require SystemRestore name")
	}
	systemRestoreName := c.Args()[0]
	namespace := c.String("namespace")
	if namespace == "" {
		return errors.New("namespace is required")
	}
	currentNodeID, err := util.GetRequiredEnv(types.EnvNodeName)
	if err != nil {
		return errors.New("fail to detect the node name")
	}
	clients, err := newClients(namespace)
	if err != nil {
		return err
	}
	informerFactories := clients.informerFactories()
	ds := datastore.NewDataStore(namespace, clients.lh, clients.kube, clients.extensions, informerFactories)

	logger := logrus.StandardLogger()
	logrus.SetLevel(logrus.DebugLevel)

	doneCh := make(chan struct{})
	informerFactories.Start(doneCh)

	ctrl, err := controller.NewSystemRolloutController(systemRestoreName, logger, currentNodeID, ds, clients.scheme, doneCh, clients.kube, clients.extensions)
	if err != nil {
		return errors.Wrap(err, "failed to create system rollout controller")
	}
	return ctrl.Run()
}
