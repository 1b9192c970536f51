package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/consentry/consentry/platform/apierror"
	"github.com/consentry/consentry/platform/apikey"
	"github.com/consentry/consentry/platform/eventid"
	"github.com/consentry/consentry/platform/serde"
	"github.com/consentry/consentry/platform/webhooksig"
	"github.com/consentry/consentry/schemas"
	"github.com/consentry/consentry/services/vendor-fanout/internal/dispatch"
	"github.com/consentry/consentry/services/vendor-fanout/internal/fanout"
	"github.com/consentry/consentry/services/vendor-fanout/internal/postgres"
	"github.com/consentry/consentry/services/vendor-fanout/internal/routing"
)

type api struct {
	log     *slog.Logger
	store   *postgres.Store
	routes  *routing.Table
	lanes   map[string]*dispatch.Lane
	planner *planner
	opener  dispatch.Opener
	now     func() time.Time
	// webhookKeys sign the webhook adapter's deliveries; nil when none is configured.
	webhookKeys *webhooksig.Keys
	// serde and receiptTopic encode the audit receipt of a disclosure; wakeRelay sends it
	// on at once.
	serde        *serde.Serde
	receiptTopic string
	wakeRelay    func()
}

type vendorStatus struct {
	Name                 string     `json:"name"`
	Type                 string     `json:"type"`
	Breaker              string     `json:"breaker"`
	QueueDepth           int        `json:"queue_depth"`
	OldestPendingAgeS    float64    `json:"oldest_pending_age_s"`
	AwaitingJobs         int        `json:"awaiting_vendor_jobs"`
	ThrottledUntil       *time.Time `json:"throttled_until"`
	RatePerSecond        float64    `json:"rate_per_second"`
	Quota                *quota     `json:"quota,omitempty"`
	LastError            string     `json:"last_error"`
	DeliveriesDone       int        `json:"deliveries_done"`
	DeliveriesDeadLetter int        `json:"deliveries_dead_lettered"`
}

// quota is the vendor's last word that its quota was spent.
type quota struct {
	Reason  string     `json:"reason"`
	SpentAt time.Time  `json:"spent_at"`
	ResetAt *time.Time `json:"reset_at,omitempty"`
}

// getVendors reports each vendor lane: breaker, backlog, throttling, last error, totals.
// Operator view: it needs an all-tenant key.
func (a *api) getVendors(w http.ResponseWriter, r *http.Request) {
	if err := apikey.RequireOperator(r.Context()); err != nil {
		apierror.Write(w, a.log, err)
		return
	}
	stats, err := a.store.Stats(r.Context(), true)
	if err != nil {
		apierror.Write(w, a.log, apierror.Wrap(apierror.Unavailable, "the delivery store is unavailable", err))
		return
	}
	out := []vendorStatus{}
	for _, in := range a.routes.Instances {
		st := stats[in.Name]
		vs := vendorStatus{Name: in.Name, Type: in.Type, Breaker: "none", QueueDepth: st.Pending, AwaitingJobs: st.Polling,
			RatePerSecond: in.RatePerSecond, LastError: st.LastError, DeliveriesDone: st.Done, DeliveriesDeadLetter: st.Dead}
		if !st.OldestPending.IsZero() {
			vs.OldestPendingAgeS = a.now().Sub(st.OldestPending).Seconds()
		}
		if lane, ok := a.lanes[in.Name]; ok {
			ls := lane.Status()
			vs.Breaker = ls.Breaker
			if !ls.ThrottledUntil.IsZero() {
				vs.ThrottledUntil = &ls.ThrottledUntil
			}
			if ls.LastError != "" {
				vs.LastError = ls.LastError
			}
			if q := ls.Quota; !q.SpentAt.IsZero() {
				vs.Quota = &quota{Reason: q.Reason, SpentAt: q.SpentAt}
				if !q.ResetAt.IsZero() {
					vs.Quota.ResetAt = &q.ResetAt
				}
			}
		}
		out = append(out, vs)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	apierror.JSON(w, http.StatusOK, map[string]any{"vendors": out})
}

type deadLetter struct {
	ID         int64     `json:"id"`
	Vendor     string    `json:"vendor"`
	Action     string    `json:"action"`
	EventID    string    `json:"event_id"`
	RequestID  string    `json:"request_id,omitempty"`
	Tenant     string    `json:"tenant"`
	SubjectKey string    `json:"subject_key"`
	Attempts   int       `json:"attempts"`
	HTTPStatus int       `json:"http_status,omitempty"`
	LastError  string    `json:"last_error"`
	CreatedAt  time.Time `json:"created_at"`
	DeadSince  time.Time `json:"dead_since"`
}

// getDeadLetters lists parked deliveries the caller's key may see.
func (a *api) getDeadLetters(w http.ResponseWriter, r *http.Request) {
	limit, err := limitParam(r.URL.Query().Get("limit"))
	if err != nil {
		apierror.Write(w, a.log, err)
		return
	}
	key, _ := apikey.FromContext(r.Context())
	ds, err := a.store.DeadLetters(r.Context(), r.URL.Query().Get("vendor"), key.Tenants(), limit)
	if err != nil {
		apierror.Write(w, a.log, apierror.Wrap(apierror.Unavailable, "the delivery store is unavailable", err))
		return
	}
	out := []deadLetter{}
	for _, d := range ds {
		out = append(out, deadLetter{ID: d.ID, Vendor: d.Instance, Action: d.Action, EventID: d.EventID, RequestID: d.RequestID,
			Tenant: d.Tenant, SubjectKey: d.SubjectKey, Attempts: d.Attempts, HTTPStatus: d.HTTPStatus, LastError: d.LastError,
			CreatedAt: d.CreatedAt, DeadSince: d.UpdatedAt})
	}
	apierror.JSON(w, http.StatusOK, map[string]any{"dead_letters": out})
}

// replayDeadLetter puts one dead delivery back in its lane; a second replay of the same
// delivery finds nothing to do.
func (a *api) replayDeadLetter(w http.ResponseWriter, r *http.Request) {
	if err := apikey.RequireOperator(r.Context()); err != nil {
		apierror.Write(w, a.log, err)
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		apierror.Write(w, a.log, apierror.Fields([]apierror.FieldError{{Field: "id", Message: "must be a delivery id"}}))
		return
	}
	err = a.store.Replay(r.Context(), id, a.now().Add(fanout.DefaultDeadline), a.replayReceipt(apikey.Who(r.Context())))
	switch {
	case errors.Is(err, postgres.ErrNotDead):
		apierror.Write(w, a.log, apierror.New(apierror.NotFound, "no dead-lettered delivery has that id"))
		return
	case err != nil:
		apierror.Write(w, a.log, apierror.Wrap(apierror.Unavailable, "the delivery store is unavailable", err))
		return
	}
	a.wakeAll()
	a.wakeRelay()
	// Who replayed it: the operator key, and the console's signed-in person when it names one.
	a.log.Info("dead letter replayed", "delivery_id", id, "by", apikey.Who(r.Context()))
	apierror.JSON(w, http.StatusAccepted, map[string]any{"replayed": 1})
}

// replayVendor replays every dead delivery of one vendor.
func (a *api) replayVendor(w http.ResponseWriter, r *http.Request) {
	if err := apikey.RequireOperator(r.Context()); err != nil {
		apierror.Write(w, a.log, err)
		return
	}
	name := r.PathValue("name")
	if _, ok := a.routes.Instance(name); !ok {
		apierror.Write(w, a.log, apierror.New(apierror.NotFound, "no vendor has that name"))
		return
	}
	n, err := a.store.ReplayAll(r.Context(), name, a.now().Add(fanout.DefaultDeadline), a.replayReceipt(apikey.Who(r.Context())))
	if err != nil {
		apierror.Write(w, a.log, apierror.Wrap(apierror.Unavailable, "the delivery store is unavailable", err))
		return
	}
	a.wakeAll()
	a.wakeRelay()
	a.log.Info("dead letters replayed", "vendor", name, "replayed", n, "by", apikey.Who(r.Context()))
	apierror.JSON(w, http.StatusAccepted, map[string]any{"replayed": n})
}

// OutcomeReplayed marks the receipt that records a dead letter's replay: the delivery is
// back in its lane, and the detail says who put it there.
const OutcomeReplayed = "replayed"

// replayReceipt builds the audit log's record of a replay by who: a receipt of the
// delivery, with a derived id per replay (the delivery and its fresh deadline), naming
// the person by subject key only, as every receipt does.
func (a *api) replayReceipt(who string) postgres.ReplayReceipt {
	return func(d fanout.Delivery, at time.Time) (fanout.Message, error) {
		id, err := eventid.Derive(d.EventID, fmt.Sprintf("replay/%s/%s/%d/%d", d.Instance, d.Action, d.ID, at.UnixNano()))
		if err != nil {
			return fanout.Message{}, err
		}
		msg, err := a.serde.EncodeMessage(a.receiptTopic, d.SubjectKey, &schemas.VendorReceipt{
			Header: schemas.Header{EventID: id, Tenant: d.Tenant, SubjectKey: d.SubjectKey, OccurredAt: at, RecordedAt: at,
				Source: schemas.SourceVendorFanout},
			SourceEventID: d.EventID, RequestID: d.RequestID, Vendor: d.Instance, Action: d.Action,
			Outcome: OutcomeReplayed, Attempts: d.Attempts,
			Detail: fmt.Sprintf("dead letter %d replayed by %s", d.ID, who),
		})
		if err != nil {
			return fanout.Message{}, err
		}
		return fanout.Message{Topic: msg.Topic, Key: msg.Key, Value: msg.Value}, nil
	}
}

func (a *api) wakeAll() {
	for _, l := range a.lanes {
		l.Wake()
	}
}
