package main

import (
	"net/http"
	"time"

	"github.com/consentry/consentry/platform/apierror"
	"github.com/consentry/consentry/platform/apikey"
	"github.com/consentry/consentry/services/audit-sink/internal/chain"
)

// verifyResponse is GET /v1/audit/verify's answer: chain.Report and when it was taken.
type verifyResponse struct {
	chain.Report
	VerifiedAt time.Time `json:"verified_at"`
}

// headView is a chain head as exported for anchoring.
type headView struct {
	Chain string    `json:"chain"`
	Seq   int64     `json:"seq"`
	Hash  string    `json:"hash"`
	At    time.Time `json:"at"`
}

// getVerify answers GET /v1/audit/verify: every chain recomputed from the stored rows,
// with the first break of each. A broken chain is still a 200: the check ran, and its
// answer is "ok": false.
func (a *api) getVerify(w http.ResponseWriter, r *http.Request) {
	// A chain interleaves the events of every tenant of its partition.
	if err := apikey.RequireOperator(r.Context()); err != nil {
		apierror.Write(w, a.log, err)
		return
	}
	// A walk of the whole log outlasts the server's write timeout once the log is large;
	// the caller's context still bounds it.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
	at := a.now()
	report, err := a.store.Verify(r.Context())
	if err != nil {
		apierror.Write(w, a.log, apierror.Wrap(apierror.Unavailable, "the audit log is unavailable", err))
		return
	}
	a.chain.record(report, a.now())
	if !report.OK {
		for _, c := range report.Chains {
			if c.Break != nil {
				a.log.Error("audit chain broken", "chain", c.Chain, "chain_seq", c.Break.Seq, "kind", c.Break.Kind)
			}
		}
		if report.Unchained > 0 {
			a.log.Error("audit rows outside any chain", "rows", report.Unchained)
		}
	}
	apierror.JSON(w, http.StatusOK, verifyResponse{Report: report, VerifiedAt: at.UTC()})
}

// getLastVerification answers GET /v1/audit/last-verification: the verdict of the last
// verification, periodic or asked for, without walking the log again; 404 before the
// first since the service started.
func (a *api) getLastVerification(w http.ResponseWriter, r *http.Request) {
	if err := apikey.RequireOperator(r.Context()); err != nil {
		apierror.Write(w, a.log, err)
		return
	}
	var report *chain.Report
	var at time.Time
	if a.chain != nil {
		report, at = a.chain.lastVerification()
	}
	if report == nil {
		apierror.Write(w, a.log, apierror.New(apierror.NotFound, "no verification has run since the service started"))
		return
	}
	apierror.JSON(w, http.StatusOK, verifyResponse{Report: *report, VerifiedAt: at.UTC()})
}

// getHeads answers GET /v1/audit/heads: where every chain ends, to be published or
// timestamped outside the database. A later verification against an anchored head
// shows the log was not rewritten up to it.
func (a *api) getHeads(w http.ResponseWriter, r *http.Request) {
	if err := apikey.RequireOperator(r.Context()); err != nil {
		apierror.Write(w, a.log, err)
		return
	}
	heads, err := a.store.Heads(r.Context())
	if err != nil {
		apierror.Write(w, a.log, apierror.Wrap(apierror.Unavailable, "the audit log is unavailable", err))
		return
	}
	out := make([]headView, len(heads))
	for i, h := range heads {
		out[i] = headView{Chain: h.Chain, Seq: h.Seq, Hash: h.Hash.String(), At: h.At.UTC()}
	}
	apierror.JSON(w, http.StatusOK, map[string]any{"heads": out, "exported_at": a.now().UTC()})
}
