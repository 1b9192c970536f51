package kafka

import (
	"context"

	"github.com/consentry/consentry/platform/tracing"
)

// HeaderTraceparent carries the W3C trace context of the work that produced a record, so
// that a trace runs from the HTTP request that accepted an event to each vendor call it
// causes.
const HeaderTraceparent = tracing.HeaderTraceparent

// Traceparent returns the record's traceparent header, or "".
func Traceparent(m Message) string { return HeaderValue(m, HeaderTraceparent) }

// TraceContext returns ctx with the record's trace context as the remote parent of the
// spans started from it.
func TraceContext(ctx context.Context, m Message) context.Context {
	return tracing.WithTraceparent(ctx, Traceparent(m))
}

// SetTraceparent sets m's traceparent header to tp, replacing any it had; an empty tp
// leaves m as it is. The header slice is copied, never appended to in place: messages
// are values and their headers may be shared with a caller's copy.
func SetTraceparent(m *Message, tp string) {
	if tp == "" {
		return
	}
	headers := make([]Header, 0, len(m.Headers)+1)
	for _, h := range m.Headers {
		if h.Key != HeaderTraceparent {
			headers = append(headers, h)
		}
	}
	m.Headers = append(headers, Header{Key: HeaderTraceparent, Value: []byte(tp)})
}

// injectTrace gives every record without a traceparent the one of the span in ctx.
// Records that have one keep it: a relayed or dead-lettered record belongs to the trace
// it was first written in.
func injectTrace(ctx context.Context, msgs []Message) {
	tp := tracing.Traceparent(ctx)
	if tp == "" {
		return
	}
	for i := range msgs {
		if Traceparent(msgs[i]) == "" {
			SetTraceparent(&msgs[i], tp)
		}
	}
}
