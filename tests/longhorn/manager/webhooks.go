package main

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"os"

	"github.com/cockroachdb/errors"
	"github.com/sirupsen/logrus"

	admissionregv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientset "k8s.io/client-go/kubernetes"

	"github.com/longhorn/longhorn-manager/datastore"
	"github.com/longhorn/longhorn-manager/webhook/admission"
	"github.com/longhorn/longhorn-manager/webhook/server"
)

type webhookOptions struct {
	listen, certFile, keyFile, caFile, namespace string
}

// The paths of longhorn-manager's admission server (webhook/server/server.go).
const (
	validationPath = "/v1/webhook/" + admission.AdmissionTypeValidation
	mutationPath   = "/v1/webhook/" + admission.AdmissionTypeMutation
)

// serveWebhooks serves longhorn-manager's own validation and mutation handlers
// (webhook/server.Validation and Mutation) over TLS, and registers them with the API server
// the way webhook/server/server.go does, except that the API server reaches them by URL on
// loopback instead of through the longhorn-admission-webhook Service, and only for requests
// in this Longhorn namespace (several Longhorns share the ground's API server). Returns the
// server's base URL.
func serveWebhooks(ds *datastore.DataStore, kubeClient clientset.Interface, o webhookOptions) (string, error) {
	validation, validationResources, err := server.Validation(ds)
	if err != nil {
		return "", errors.Wrap(err, "building the validation handler")
	}
	mutation, mutationResources, err := server.Mutation(ds)
	if err != nil {
		return "", errors.Wrap(err, "building the mutation handler")
	}
	mux := http.NewServeMux()
	mux.Handle(validationPath, validation)
	mux.Handle(mutationPath, mutation)
	mux.HandleFunc("/v1/healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })

	certificate, err := tls.LoadX509KeyPair(o.certFile, o.keyFile)
	if err != nil {
		return "", errors.Wrap(err, "loading the webhook serving certificate")
	}
	listener, err := net.Listen("tcp", o.listen)
	if err != nil {
		return "", errors.Wrapf(err, "listening on %v for the webhooks", o.listen)
	}
	srv := &http.Server{Handler: mux, TLSConfig: &tls.Config{Certificates: []tls.Certificate{certificate}, MinVersion: tls.VersionTLS12}}
	go func() {
		if err := srv.ServeTLS(listener, "", ""); err != nil {
			logrus.WithError(err).Fatal("the webhook server stopped")
		}
	}()
	base := "https://" + listener.Addr().String()

	caBundle, err := os.ReadFile(o.caFile)
	if err != nil {
		return "", errors.Wrap(err, "reading the CA of the webhook certificate")
	}
	selector := &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": o.namespace}}
	fail := admissionregv1.Fail
	exact := admissionregv1.Exact
	none := admissionregv1.SideEffectClassNone
	clientConfig := func(path string) admissionregv1.WebhookClientConfig {
		url := base + path
		return admissionregv1.WebhookClientConfig{URL: &url, CABundle: caBundle}
	}
	validating := &admissionregv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: o.namespace + "-longhorn-webhook-validator"},
		Webhooks: []admissionregv1.ValidatingWebhook{{
			Name:                    "validator.longhorn.io",
			ClientConfig:            clientConfig(validationPath),
			Rules:                   rules(validationResources),
			FailurePolicy:           &fail,
			MatchPolicy:             &exact,
			SideEffects:             &none,
			AdmissionReviewVersions: []string{"v1"},
			NamespaceSelector:       selector,
		}},
	}
	mutating := &admissionregv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: o.namespace + "-longhorn-webhook-mutator"},
		Webhooks: []admissionregv1.MutatingWebhook{{
			Name:                    "mutator.longhorn.io",
			ClientConfig:            clientConfig(mutationPath),
			Rules:                   rules(mutationResources),
			FailurePolicy:           &fail,
			MatchPolicy:             &exact,
			SideEffects:             &none,
			AdmissionReviewVersions: []string{"v1"},
			NamespaceSelector:       selector,
		}},
	}
	if err := applyWebhookConfigurations(kubeClient, validating, mutating); err != nil {
		return "", err
	}
	return base, nil
}

// rules is webhook/server/server.go buildRules: one rule per resource.
func rules(resources []admission.Resource) []admissionregv1.RuleWithOperations {
	out := []admissionregv1.RuleWithOperations{}
	for _, r := range resources {
		scope := r.Scope
		out = append(out, admissionregv1.RuleWithOperations{
			Operations: r.OperationTypes,
			Rule: admissionregv1.Rule{
				APIGroups:   []string{r.APIGroup},
				APIVersions: []string{r.APIVersion},
				Resources:   []string{r.Name},
				Scope:       &scope,
			},
		})
	}
	return out
}

func applyWebhookConfigurations(kubeClient clientset.Interface, validating *admissionregv1.ValidatingWebhookConfiguration, mutating *admissionregv1.MutatingWebhookConfiguration) error {
	ctx := context.Background()
	registration := kubeClient.AdmissionregistrationV1()
	if existing, err := registration.ValidatingWebhookConfigurations().Get(ctx, validating.Name, metav1.GetOptions{}); err == nil {
		validating.ResourceVersion = existing.ResourceVersion
		if _, err := registration.ValidatingWebhookConfigurations().Update(ctx, validating, metav1.UpdateOptions{}); err != nil {
			return errors.Wrap(err, "updating the validating webhook configuration")
		}
	} else if apierrors.IsNotFound(err) {
		if _, err := registration.ValidatingWebhookConfigurations().Create(ctx, validating, metav1.CreateOptions{}); err != nil {
			return errors.Wrap(err, "creating the validating webhook configuration")
		}
	} else {
		return err
	}
	if existing, err := registration.MutatingWebhookConfigurations().Get(ctx, mutating.Name, metav1.GetOptions{}); err == nil {
		mutating.ResourceVersion = existing.ResourceVersion
		if _, err := registration.MutatingWebhookConfigurations().Update(ctx, mutating, metav1.UpdateOptions{}); err != nil {
			return errors.Wrap(err, "updating the mutating webhook configuration")
		}
	} else if apierrors.IsNotFound(err) {
		if _, err := registration.MutatingWebhookConfigurations().Create(ctx, mutating, metav1.CreateOptions{}); err != nil {
			return errors.Wrap(err, "creating the mutating webhook configuration")
		}
	} else {
		return err
	}
	return nil
}
