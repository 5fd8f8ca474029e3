module example.local/differential-oracle

go 1.25.10

require (
	// v1.12.1's backupstore pin (v1.12.0's is not served by the Go module proxy;
	// tests/tools/install.sh, longhorn_manager_pins).
	github.com/longhorn/backupstore v0.0.0-20260722010828-e5f4ddc47e4d
	// What longhorn-manager's RecurringJob validator parses cron with.
	github.com/robfig/cron v1.2.0
	// longhorn-manager v1.12.0's pin: its YAML printer and kubectl's -o yaml.
	sigs.k8s.io/yaml v1.6.0
)

require (
	github.com/beorn7/perks v1.0.1 // indirect
	github.com/cespare/xxhash/v2 v2.1.2 // indirect
	github.com/cockroachdb/errors v1.12.0 // indirect
	github.com/cockroachdb/logtags v0.0.0-20230118201751-21c54148d20b // indirect
	github.com/cockroachdb/redact v1.1.5 // indirect
	github.com/gammazero/deque v0.2.1 // indirect
	github.com/gammazero/workerpool v1.1.3 // indirect
	github.com/getsentry/sentry-go v0.27.0 // indirect
	github.com/go-logr/logr v1.4.3 // indirect
	github.com/gogo/protobuf v1.3.2 // indirect
	github.com/golang/protobuf v1.5.4 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/kr/pretty v0.3.1 // indirect
	github.com/kr/text v0.2.0 // indirect
	github.com/longhorn/go-common-libs v0.0.0-20260709061022-21a84065aa86 // indirect
	github.com/matttproud/golang_protobuf_extensions v1.0.4 // indirect
	github.com/moby/sys/mountinfo v0.7.2 // indirect
	github.com/pierrec/lz4/v4 v4.1.26 // indirect
	github.com/pkg/errors v0.9.1 // indirect
	github.com/prometheus/client_golang v1.11.1 // indirect
	github.com/prometheus/client_model v0.2.0 // indirect
	github.com/prometheus/common v0.26.0 // indirect
	github.com/prometheus/procfs v0.6.0 // indirect
	github.com/rogpeppe/go-internal v1.12.0 // indirect
	github.com/sirupsen/logrus v1.9.4 // indirect
	github.com/slok/goresilience v0.2.0 // indirect
	go.yaml.in/yaml/v2 v2.4.2 // indirect
	golang.org/x/sys v0.45.0 // indirect
	golang.org/x/text v0.37.0 // indirect
	google.golang.org/protobuf v1.36.11 // indirect
	gopkg.in/inf.v0 v0.9.1 // indirect
	k8s.io/apimachinery v0.28.15 // indirect
	k8s.io/klog/v2 v2.130.1 // indirect
	k8s.io/mount-utils v0.28.15 // indirect
	k8s.io/utils v0.0.0-20241210054802-24370beab758 // indirect
)

// Asked for by that backupstore; not served by the Go module proxy. longhorn-manager
// v1.12.0's own pin is.
replace github.com/longhorn/go-common-libs => github.com/longhorn/go-common-libs v0.0.0-20260512083219-bb6c10ce1050
