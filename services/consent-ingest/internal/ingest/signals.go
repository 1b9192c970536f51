package ingest

import (
	"net/http"
	"strings"
	"time"

	"github.com/consentry/consentry/schemas"
)

// Signals are the privacy signals a person's browser sent with a request.
type Signals struct {
	// GPC is Global Privacy Control (Sec-GPC: 1): an opt-out of advertising and of the
	// sale and sharing of personal information, which California's regulations require
	// to be honoured (CCPA Regs. §7025).
	GPC bool
	// DNT is Do Not Track (DNT: 1): the policy promises to adjust to it, and it is an
	// objection to advertising under GDPR Art. 21(5) (LG Berlin, 2023).
	DNT bool
}

// SignalsFrom reads the signals of a request. Only the exact value "1" is a signal,
// as both specifications say; anything else is no signal.
func SignalsFrom(h http.Header) Signals {
	return Signals{
		GPC: strings.TrimSpace(h.Get("Sec-GPC")) == "1",
		DNT: strings.TrimSpace(h.Get("DNT")) == "1",
	}
}

// browserSources are the sources whose requests come from the person's own browser, so
// that its headers speak for the person; a server-to-server call (api, support, import)
// carries its own headers, not the person's.
var browserSources = []string{schemas.SourceCMP, schemas.SourcePreferenceCenter}

// SignalConsent is the consent a browser signal implies for the subject of n, recorded
// with the signal as its source so that the proof names it; ok is false when the request
// carried no signal or did not come from a browser. It takes effect no earlier than the
// consent it came with (and not before now, when the signal was received), so that under
// last-writer-wins a grant sent alongside the signal does not override it.
func SignalConsent(n Normalized, s Signals, now time.Time) (Normalized, bool) {
	if !contains(browserSources, n.Source) || (!s.GPC && !s.DNT) {
		return Normalized{}, false
	}
	out := n
	// The CMP's strings prove the consent they came with, not the signal's denial.
	out.TCFString, out.GPPString = "", ""
	out.OccurredAt = now
	if n.OccurredAt.After(now) {
		out.OccurredAt = n.OccurredAt
	}
	if s.GPC { // GPC's opt-out includes DNT's
		out.Source, out.Purposes = schemas.SourceGPC, map[string]string{schemas.PurposeAdvertising: schemas.Denied, schemas.PurposeSaleShare: schemas.Denied}
	} else {
		out.Source, out.Purposes = schemas.SourceDNT, map[string]string{schemas.PurposeAdvertising: schemas.Denied}
	}
	return out, true
}
