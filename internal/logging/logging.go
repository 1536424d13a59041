// Package logging builds watchrelay's logger: log/slog JSON on stderr with
// the field names Cloud Logging reads from a function's output (severity,
// message, logging.googleapis.com/trace), so levels and request traces show
// up in the console without an agent.
package logging

import (
	"io"
	"log/slog"
	"strings"
)

// TraceKey is the field Cloud Logging groups a request's lines by.
const TraceKey = "logging.googleapis.com/trace"

// New returns a JSON logger writing to w.
func New(w io.Writer, level slog.Leveler) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) > 0 {
				return a
			}
			switch a.Key {
			case slog.LevelKey:
				return slog.String("severity", severity(a.Value.Any().(slog.Level)))
			case slog.MessageKey:
				a.Key = "message"
			}
			return a
		},
	}))
}

func severity(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return "ERROR"
	case l >= slog.LevelWarn:
		return "WARNING"
	case l >= slog.LevelInfo:
		return "INFO"
	}
	return "DEBUG"
}

// Trace turns an X-Cloud-Trace-Context header ("TRACE_ID/SPAN_ID;o=1") into
// the attribute Cloud Logging expects, or an empty attribute when there is
// no trace or no project.
func Trace(project, header string) slog.Attr {
	id, _, _ := strings.Cut(header, "/")
	if project == "" || id == "" {
		return slog.Attr{}
	}
	return slog.String(TraceKey, "projects/"+project+"/traces/"+id)
}
