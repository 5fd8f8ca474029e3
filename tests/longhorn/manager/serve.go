package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/cockroachdb/errors"
	"github.com/sirupsen/logrus"
	"github.com/urfave/cli"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"

	apiextensionsclientset "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	clientset "k8s.io/client-go/kubernetes"

	"github.com/longhorn/longhorn-manager/controller"
	"github.com/longhorn/longhorn-manager/datastore"
	"github.com/longhorn/longhorn-manager/meta"
	"github.com/longhorn/longhorn-manager/types"
	"github.com/longhorn/longhorn-manager/util"

	longhorn "github.com/longhorn/longhorn-manager/k8s/pkg/apis/longhorn/v1beta2"
	lhclientset "github.com/longhorn/longhorn-manager/k8s/pkg/client/clientset/versioned"
	lhinformers "github.com/longhorn/longhorn-manager/k8s/pkg/client/informers/externalversions"
)

// The informer resync of longhorn-manager's daemon (util/client/client.go NewClients).
const resyncPeriod = 30 * time.Second

// ready is the line serve prints on stdout once everything answers.
type ready struct {
	Webhook         string `json:"webhook"`
	InstanceManager string `json:"instanceManager"`
	ManagerAPI      string `json:"managerAPI"`
	Version         string `json:"version"`
	GitCommit       string `json:"gitCommit"`
}

func serveCmd() cli.Command {
	return cli.Command{
		Name:  "serve",
		Usage: "run the controllers, webhooks and Job runner for one Longhorn namespace",
		Flags: []cli.Flag{
			cli.StringFlag{Name: "namespace", EnvVar: types.EnvPodNamespace, Usage: "the Longhorn namespace"},
			cli.StringFlag{Name: "manager-image", Usage: "the image this manager runs as (status.managerImage, the cfg's managerImage)"},
			cli.StringFlag{Name: "service-account", Value: "longhorn-service-account"},
			cli.StringFlag{Name: "webhook-listen", Value: "127.0.0.1:0", Usage: "address of the admission webhook server"},
			cli.StringFlag{Name: "webhook-cert", Usage: "PEM serving certificate of the webhook server"},
			cli.StringFlag{Name: "webhook-key", Usage: "PEM key of the webhook server"},
			cli.StringFlag{Name: "webhook-ca", Usage: "PEM CA the API server trusts the webhook server by"},
			cli.StringFlag{Name: "node-ip", Value: "127.0.0.1", Usage: "loopback address standing for this node (instance-manager proxy port 8501)"},
			cli.BoolFlag{Name: "exit-on-stdin-eof", Usage: "exit when stdin closes (the process that started this one is gone)"},
		},
		Action: func(c *cli.Context) {
			if err := serve(c); err != nil {
				logrus.WithError(err).Fatal("serve failed")
			}
		},
	}
}

func serve(c *cli.Context) error {
	namespace := c.String("namespace")
	if namespace == "" {
		return errors.New("the Longhorn namespace is required (--namespace or POD_NAMESPACE)")
	}
	nodeID, err := util.GetRequiredEnv(types.EnvNodeName)
	if err != nil {
		return errors.Wrap(err, "NODE_NAME names the node this manager runs on")
	}
	if c.Bool("exit-on-stdin-eof") {
		go exitOnStdinEOF()
	}

	clients, err := newClients(namespace)
	if err != nil {
		return err
	}
	kubeClient, scheme := clients.kube, clients.scheme
	informerFactories := clients.informerFactories()
	ds := datastore.NewDataStore(namespace, clients.lh, kubeClient, clients.extensions, informerFactories)
	jobs := newJobRunner(namespace, kubeClient, informerFactories.KubeNamespaceFilteredInformerFactory)

	stopCh := make(chan struct{})
	informerFactories.Start(stopCh)
	if !ds.Sync(stopCh) {
		return errors.New("datastore cache sync failed")
	}

	logger := logrus.StandardLogger()
	managerImage := c.String("manager-image")
	systemBackup, err := controller.NewSystemBackupController(logger, ds, scheme, kubeClient, namespace, nodeID, managerImage)
	if err != nil {
		return err
	}
	backupTarget, err := controller.NewBackupTargetController(logger, ds, scheme, kubeClient, nodeID, namespace, util.NewAtomicCounter())
	if err != nil {
		return err
	}
	systemRestore, err := controller.NewSystemRestoreController(logger, ds, scheme, kubeClient, namespace, nodeID)
	if err != nil {
		return err
	}
	recurringJob, err := controller.NewRecurringJobController(logger, ds, scheme, kubeClient, namespace, nodeID, c.String("service-account"), managerImage)
	if err != nil {
		return err
	}
	// Asks the BackupTarget for a sync when its credential Secret changes.
	secrets, err := controller.NewKubernetesSecretController(logger, ds, scheme, kubeClient, nodeID, namespace)
	if err != nil {
		return err
	}

	instanceManager, err := serveInstanceManagerProxy(c.String("node-ip"))
	if err != nil {
		return err
	}
	managerAPI, err := serveManagerAPI(c.String("node-ip"), nodeID, ds)
	if err != nil {
		return err
	}
	webhook, err := serveWebhooks(ds, kubeClient, webhookOptions{
		listen:    c.String("webhook-listen"),
		certFile:  c.String("webhook-cert"),
		keyFile:   c.String("webhook-key"),
		caFile:    c.String("webhook-ca"),
		namespace: namespace,
	})
	if err != nil {
		return err
	}

	workers := controller.Workers
	go systemBackup.Run(workers, stopCh)
	go backupTarget.Run(workers, stopCh)
	go systemRestore.Run(workers, stopCh)
	go recurringJob.Run(workers, stopCh)
	go secrets.Run(workers, stopCh)
	go jobs.run(stopCh)

	line, err := json.Marshal(ready{Webhook: webhook, InstanceManager: instanceManager, ManagerAPI: managerAPI, Version: meta.Version, GitCommit: meta.GitCommit})
	if err != nil {
		return err
	}
	fmt.Println(string(line))
	<-stopCh
	return nil
}

// exitOnStdinEOF ends the process when the ground that started it is gone, however it went.
func exitOnStdinEOF() {
	reader := bufio.NewReader(os.Stdin)
	for {
		if _, err := reader.ReadByte(); err != nil {
			logrus.Info("stdin closed: the ground is gone, exiting")
			os.Exit(0)
		}
	}
}

// clients are the API clients of a manager process. In a pod the manager uses its service
// account; the ground mounts one (with an admin token) and sets KUBERNETES_SERVICE_HOST/PORT,
// so the in-cluster config works the same here.
type clients struct {
	namespace  string
	kube       clientset.Interface
	lh         lhclientset.Interface
	extensions apiextensionsclientset.Interface
	scheme     *runtime.Scheme
}

func newClients(namespace string) (*clients, error) {
	config, err := rest.InClusterConfig()
	if err != nil {
		return nil, errors.Wrap(err, "in-cluster client config")
	}
	// The daemon's limits (util/client/client.go NewClients).
	config.QPS = types.KubeAPIQPS
	config.Burst = types.KubeAPIBurst
	c := &clients{namespace: namespace}
	if c.kube, err = clientset.NewForConfig(config); err != nil {
		return nil, err
	}
	if c.lh, err = lhclientset.NewForConfig(config); err != nil {
		return nil, err
	}
	if c.extensions, err = apiextensionsclientset.NewForConfig(config); err != nil {
		return nil, err
	}
	c.scheme = runtime.NewScheme()
	if err := longhorn.SchemeBuilder.AddToScheme(c.scheme); err != nil {
		return nil, err
	}
	return c, nil
}

// informerFactories are util.NewInformerFactories with one change: longhorn-manager watches
// Longhorn objects in all namespaces, since a cluster has one Longhorn; the ground runs one
// Longhorn per namespace on a shared API server, so this manager watches its own.
func (c *clients) informerFactories() *util.InformerFactories {
	factories := util.NewInformerFactories(c.namespace, c.kube, c.lh, resyncPeriod)
	factories.LhInformerFactory = lhinformers.NewSharedInformerFactoryWithOptions(c.lh, resyncPeriod, lhinformers.WithNamespace(c.namespace))
	return factories
}
