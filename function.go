// Package watchrelay is the Cloud Functions bundle: it registers the three
// HTTP functions, Receive (Google's webhook), Renew (called by Cloud
// Scheduler) and Sync (pushed notification events by Pub/Sub), with
// functions-framework-go. It only wires: the configuration
// is read once and the clients are built on the first request, never in
// init, so a cold start that serves nothing costs nothing.
package watchrelay

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"sync"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"

	"github.com/watchrelay/watchrelay/internal/config"
	"github.com/watchrelay/watchrelay/internal/logging"
	"github.com/watchrelay/watchrelay/internal/service"
)

// The entry points Terraform deploys: keep in step with terraform/functions.tf.
const (
	ReceiveEntryPoint = "Receive"
	RenewEntryPoint   = "Renew"
	SyncEntryPoint    = "Sync"
)

func init() {
	functions.HTTP(ReceiveEntryPoint, Receive)
	functions.HTTP(RenewEntryPoint, Renew)
	functions.HTTP(SyncEntryPoint, Sync)
}

var (
	once   sync.Once
	svc    *service.Service
	svcErr error
	logger = logging.New(os.Stderr, slog.LevelInfo)
)

// assemble builds the service once per instance. A failure is kept and
// answered as 503 on every request, so Google and Scheduler retry while the
// logs say why. service.New builds production parts only; without a project
// it fails (service.ErrNoProject says why).
func assemble() (*service.Service, error) {
	once.Do(func() {
		cfg, err := config.Load()
		if err != nil {
			svcErr = err
			return
		}
		svc, svcErr = service.New(context.Background(), cfg, service.Options{Logger: logger})
	})
	if svcErr != nil {
		logger.Error("watchrelay could not start", "error", svcErr)
	}
	return svc, svcErr
}

// Receive is Google's webhook: it validates a push notification and
// publishes it as a CloudEvent before acknowledging it.
func Receive(w http.ResponseWriter, r *http.Request) {
	s, err := assemble()
	if err != nil {
		http.Error(w, "watchrelay: not configured", http.StatusServiceUnavailable)
		return
	}
	s.Receive.ServeHTTP(w, r)
}

// Renew runs one reconcile pass and answers its summary.
func Renew(w http.ResponseWriter, r *http.Request) {
	s, err := assemble()
	if err != nil {
		http.Error(w, "watchrelay: not configured", http.StatusServiceUnavailable)
		return
	}
	s.Renew.ServeHTTP(w, r)
}

// Sync reads what changed on a notified watch and publishes each changed
// item; it is the push endpoint of a subscription of the events topic.
func Sync(w http.ResponseWriter, r *http.Request) {
	s, err := assemble()
	if err != nil {
		http.Error(w, "watchrelay: not configured", http.StatusServiceUnavailable)
		return
	}
	s.Sync.ServeHTTP(w, r)
}
