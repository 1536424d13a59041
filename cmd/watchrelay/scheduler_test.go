package main

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"

	"cloud.google.com/go/scheduler/apiv1/schedulerpb"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// fakeScheduler records the jobs it was asked to run.
type fakeScheduler struct {
	schedulerpb.UnimplementedCloudSchedulerServer
	mu  sync.Mutex
	ran []string
}

func (f *fakeScheduler) RunJob(_ context.Context, req *schedulerpb.RunJobRequest) (*schedulerpb.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ran = append(f.ran, req.GetName())
	return &schedulerpb.Job{Name: req.GetName()}, nil
}

// Against a deployment, watch add stores the watch and asks Cloud Scheduler
// to run the renew job, instead of opening the channel with the user's own
// credentials.
func TestWatchAddRunsSchedulerJob(t *testing.T) {
	sim, env := onEmulators(t)
	fake := &fakeScheduler{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	schedulerpb.RegisterCloudSchedulerServer(srv, fake)
	go srv.Serve(ln)
	defer srv.Stop()
	schedulerOptions = []option.ClientOption{
		option.WithEndpoint(ln.Addr().String()),
		option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())),
	}
	defer func() { schedulerOptions = nil }()

	job := "projects/p/locations/europe-west1/jobs/watchrelay-renew"
	env["WATCHRELAY_SCHEDULER_JOB"] = job
	out, err := run(t, env, "watch", "add", "--id", "w1", "--kind", "drive.files", "--param", "fileId=f1")
	if err != nil {
		t.Fatal(err)
	}
	if len(fake.ran) != 1 || fake.ran[0] != job || !strings.Contains(out, job) {
		t.Errorf("scheduler ran %v, output %q; want one run of %s", fake.ran, out, job)
	}
	// The job's pass runs elsewhere: exit 0, and say that its outcome is
	// not known here.
	if !strings.Contains(out, "cannot know whether it did") {
		t.Errorf("output %q does not say the outcome is unknown", out)
	}
	if n := sim.Stats().WatchCalls; n != 0 {
		t.Errorf("the CLI called watch itself %d times; the deployed Renew must", n)
	}
}
