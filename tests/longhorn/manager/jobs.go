package main

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	clientset "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// jobRunner does what the kubelet does for the Jobs longhorn-manager creates in its
// namespace: the SystemRestore controller's rollout Job (`longhorn-manager system-rollout
// <restore>`) and the Jobs of a RecurringJob's CronJob (`longhorn-manager -d recurring-job
// <name> --manager-url …`). The ground has no kubelet, so it runs the container's command
// with this binary, with the container's environment, in this mount namespace (the Jobs mount
// the same host paths as the manager) but with a /tmp of its own, as a pod's container has,
// then records the outcome in the Job's status. Jobs of other images are left alone.
type jobRunner struct {
	namespace  string
	kubeClient clientset.Interface
	informer   cache.SharedIndexInformer

	mutex   sync.Mutex
	started map[string]bool
}

const managerCommand = "longhorn-manager"

// jobsDir holds each Job run's own /tmp. A shared /tmp is not what a cluster does, and it
// breaks Longhorn's own flow: the SystemBackup controller removes /tmp/<backup> once the
// backup is Ready, while a rollout started at that moment unzips the same backup into
// /tmp/<backup> (longhorn/longhorn-manager:controller/system_backup_controller.go@v1.12.0,
// cleanupLocalSystemBackupFiles; controller/system_rollout_controller.go@v1.12.0, Unpack).
const jobsDir = "/var/lib/longhorn/jobs"

// jobSandbox mounts its first argument over /tmp in a mount namespace of the Job's own,
// then becomes the Job's command.
const jobSandbox = `set -e; mount --bind "$0" /tmp; exec "$@"`

func newJobRunner(namespace string, kubeClient clientset.Interface, factory informers.SharedInformerFactory) *jobRunner {
	r := &jobRunner{
		namespace:  namespace,
		kubeClient: kubeClient,
		informer:   factory.Batch().V1().Jobs().Informer(),
		started:    map[string]bool{},
	}
	if _, err := r.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    r.consider,
		UpdateFunc: func(_, cur interface{}) { r.consider(cur) },
	}); err != nil {
		logrus.WithError(err).Fatal("watching Jobs")
	}
	return r
}

func (r *jobRunner) run(stopCh <-chan struct{}) {
	<-stopCh
}

func (r *jobRunner) consider(obj interface{}) {
	job, ok := obj.(*batchv1.Job)
	if !ok || job.Namespace != r.namespace || finished(job) {
		return
	}
	containers := job.Spec.Template.Spec.Containers
	if len(containers) != 1 || len(containers[0].Command) == 0 || containers[0].Command[0] != managerCommand {
		return
	}
	r.mutex.Lock()
	defer r.mutex.Unlock()
	if r.started[string(job.UID)] {
		return
	}
	r.started[string(job.UID)] = true
	go r.execute(job.DeepCopy())
}

func finished(job *batchv1.Job) bool {
	for _, c := range job.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// execute runs the Job's container until it succeeds or its backoff limit is spent, as a
// Pod with restartPolicy OnFailure would.
func (r *jobRunner) execute(job *batchv1.Job) {
	log := logrus.WithField("job", job.Name)
	container := job.Spec.Template.Spec.Containers[0]
	environment := os.Environ()
	for _, e := range container.Env {
		value := e.Value
		if e.ValueFrom != nil && e.ValueFrom.FieldRef != nil {
			switch e.ValueFrom.FieldRef.FieldPath {
			case "metadata.namespace":
				value = job.Namespace
			case "spec.nodeName":
				value = os.Getenv("NODE_NAME")
			}
		}
		environment = append(environment, e.Name+"="+value)
	}
	attempts := int32(1)
	if job.Spec.BackoffLimit != nil {
		attempts += *job.Spec.BackoffLimit
	}
	started := metav1.Now()
	r.setStatus(job, func(s *batchv1.JobStatus) {
		s.StartTime = &started
		active := int32(1)
		s.Active = active
	})
	self, err := os.Executable()
	if err != nil {
		log.WithError(err).Error("cannot find this binary to run the Job with")
		return
	}
	var failures int32
	for failures < attempts {
		log.Infof("running Job: %v", strings.Join(container.Command, " "))
		err := runInSandbox(log, self, append(container.Command[1:], container.Args...), environment)
		if err == nil {
			r.complete(job, started, failures, true)
			return
		}
		failures++
		log.WithError(err).Warnf("Job failed (%d of %d attempts)", failures, attempts)
		time.Sleep(time.Second)
	}
	r.complete(job, started, failures, false)
}

// runInSandbox runs the command with a fresh /tmp, removed afterwards, and its output,
// line by line, in this manager's log.
func runInSandbox(log *logrus.Entry, program string, args, environment []string) error {
	if err := os.MkdirAll(jobsDir, 0o700); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(jobsDir, "tmp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	sandboxed := append([]string{"--mount", "--propagation", "private", "--", "/bin/sh", "-c", jobSandbox, tmp, program}, args...)
	cmd := exec.Command("unshare", sandboxed...)
	cmd.Env = environment
	// A Job's process goes when this manager goes, as a pod's would with its node.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	reader, writer := io.Pipe()
	cmd.Stdout = writer
	cmd.Stderr = writer
	done := make(chan struct{})
	go func() {
		defer close(done)
		scanner := bufio.NewScanner(reader)
		scanner.Buffer(make([]byte, 64*1024), 1024*1024)
		for scanner.Scan() {
			log.Info("| " + scanner.Text())
		}
	}()
	err = cmd.Run()
	writer.Close()
	<-done
	return err
}

func (r *jobRunner) complete(job *batchv1.Job, started metav1.Time, failures int32, succeeded bool) {
	now := metav1.Now()
	r.setStatus(job, func(s *batchv1.JobStatus) {
		s.Active = 0
		s.Failed = failures
		if succeeded {
			s.Succeeded = 1
			s.CompletionTime = &now
			s.Conditions = append(s.Conditions,
				batchv1.JobCondition{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastProbeTime: now, LastTransitionTime: now},
				batchv1.JobCondition{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastProbeTime: now, LastTransitionTime: now})
		} else {
			s.Conditions = append(s.Conditions,
				batchv1.JobCondition{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, Reason: batchv1.JobReasonBackoffLimitExceeded, LastProbeTime: now, LastTransitionTime: now},
				batchv1.JobCondition{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: batchv1.JobReasonBackoffLimitExceeded, LastProbeTime: now, LastTransitionTime: now})
		}
	})
}

// setStatus applies change to the Job's current status; a Job deleted meanwhile is fine.
func (r *jobRunner) setStatus(job *batchv1.Job, change func(*batchv1.JobStatus)) {
	jobs := r.kubeClient.BatchV1().Jobs(job.Namespace)
	for attempt := 0; attempt < 5; attempt++ {
		current, err := jobs.Get(context.Background(), job.Name, metav1.GetOptions{})
		if err != nil {
			return
		}
		change(&current.Status)
		if _, err = jobs.UpdateStatus(context.Background(), current, metav1.UpdateOptions{}); err == nil {
			return
		}
		logrus.WithError(err).WithField("job", job.Name).Debug("updating the Job's status")
	}
}
