package renew

import (
	"net/http"
)

// ServeHTTP is the Renew function: a POST (from Cloud Scheduler) runs one
// pass and answers its summary as JSON. It answers 5xx only when the pass
// could not run at all, so Scheduler retries that and nothing else: failures
// of single watches are in the summary and in lifecycle events. The
// request's context bounds the pass: functions-framework-go gives it the
// function's timeout as a deadline (from CLOUD_RUN_TIMEOUT_SECONDS); without
// one, Options.Budget does.
func (p *Pass) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "renew: use POST", http.StatusMethodNotAllowed)
		return
	}
	sum, err := p.Run(r.Context())
	if err != nil {
		p.log.Error("renew pass could not run", "error", err)
		http.Error(w, "renew: pass could not run: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	p.log.Info("renew pass done", "summary", sum)
	w.Header().Set("Content-Type", "application/json")
	w.Write(append(sum.JSON(), '\n'))
}
