package main

import (
	"fmt"
	"net"
	"net/http"

	"github.com/cockroachdb/errors"
	"github.com/sirupsen/logrus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/longhorn/longhorn-manager/api"
	"github.com/longhorn/longhorn-manager/controller"
	"github.com/longhorn/longhorn-manager/datastore"
	"github.com/longhorn/longhorn-manager/engineapi"
)

// The node's services, each on the loopback address that stands for this node (every
// manager of the ground has its own, so they can all use Longhorn's fixed ports).

// serveInstanceManagerProxy answers the gRPC health check that longhorn-manager makes before
// using a running instance manager (engineapi/proxy.go NewEngineClientProxy, called by the
// BackupTarget controller's getBackupTarget). Nothing here runs engines: any other call fails
// with Unimplemented. Returns the address.
func serveInstanceManagerProxy(nodeIP string) (string, error) {
	address := net.JoinHostPort(nodeIP, fmt.Sprint(engineapi.InstanceManagerProxyServiceDefaultPort))
	listener, err := net.Listen("tcp", address)
	if err != nil {
		return "", errors.Wrapf(err, "listening on %v for the instance-manager proxy", address)
	}
	server := grpc.NewServer()
	healthpb.RegisterHealthServer(server, health.NewServer())
	go func() {
		if err := server.Serve(listener); err != nil {
			logrus.WithError(err).Fatal("the instance-manager proxy stopped")
		}
	}()
	return address, nil
}

// managerAPIPort is the port of longhorn-manager's REST API (the longhorn-backend Service,
// types.GetDefaultManagerURL).
const managerAPIPort = 9500

// serveManagerAPI serves longhorn-manager's own REST API, as its daemon does (app/daemon.go):
// the recurring-job command builds a client of it before it does anything.
func serveManagerAPI(nodeIP, nodeID string, ds *datastore.DataStore) (string, error) {
	logger := logrus.StandardLogger()
	websocket, err := controller.NewWebsocketController(logger, ds)
	if err != nil {
		return "", err
	}
	router := api.NewRouter(api.NewServer(newVolumeManager(nodeID, ds), websocket))
	address := net.JoinHostPort(nodeIP, fmt.Sprint(managerAPIPort))
	listener, err := net.Listen("tcp", address)
	if err != nil {
		return "", errors.Wrapf(err, "listening on %v for the manager API", address)
	}
	go func() {
		if err := http.Serve(listener, router); err != nil {
			logrus.WithError(err).Fatal("the manager API stopped")
		}
	}()
	return "http://" + address + "/v1", nil
}
