package main

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/consentry/consentry/platform/apierror"
	"github.com/consentry/consentry/platform/apikey"
	"github.com/consentry/consentry/platform/eventid"
	"github.com/consentry/consentry/platform/server"
	"github.com/consentry/consentry/schemas"
	"github.com/consentry/consentry/services/vendor-fanout/internal/fanout"
	"github.com/consentry/consentry/services/vendor-fanout/internal/postgres"
)

type taskView struct {
	ID           int64      `json:"id"`
	Vendor       string     `json:"vendor"`
	Action       string     `json:"action"`
	Tenant       string     `json:"tenant"`
	SubjectKey   string     `json:"subject_key"`
	EventID      string     `json:"event_id"`
	RequestID    string     `json:"request_id,omitempty"`
	Owner        string     `json:"owner"`
	Instructions string     `json:"instructions"`
	DueAt        time.Time  `json:"due_at"`
	Overdue      bool       `json:"overdue"`
	Status       string     `json:"status"`
	CompletedAt  *time.Time `json:"completed_at,omitempty"`
	CompletedBy  string     `json:"completed_by,omitempty"`
	Note         string     `json:"note,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
}

func (a *api) view(t fanout.Task) taskView {
	return taskView{ID: t.ID, Vendor: t.Instance, Action: t.Action, Tenant: t.Tenant, SubjectKey: t.SubjectKey, EventID: t.EventID,
		RequestID: t.RequestID, Owner: t.Owner, Instructions: t.Instructions, DueAt: t.DueAt,
		Overdue: t.Status == fanout.TaskOpen && a.now().After(t.DueAt), Status: t.Status, CompletedAt: t.CompletedAt,
		CompletedBy: t.CompletedBy, Note: t.Note, CreatedAt: t.CreatedAt}
}

// getTasks lists manual tasks the caller's key may see: ?status=open|completed|overdue,
// ?vendor=, ?limit=.
func (a *api) getTasks(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	status := q.Get("status")
	switch status {
	case "", fanout.TaskOpen, fanout.TaskCompleted, "overdue":
	default:
		apierror.Write(w, a.log, apierror.Fields([]apierror.FieldError{{Field: "status", Message: "must be open, completed or overdue"}}))
		return
	}
	limit, err := limitParam(q.Get("limit"))
	if err != nil {
		apierror.Write(w, a.log, err)
		return
	}
	key, _ := apikey.FromContext(r.Context())
	tasks, err := a.store.Tasks(r.Context(), postgres.TaskFilter{Status: status, Instance: q.Get("vendor"), Tenants: key.Tenants(), Limit: limit})
	if err != nil {
		apierror.Write(w, a.log, apierror.Wrap(apierror.Unavailable, "the task store is unavailable", err))
		return
	}
	out := []taskView{}
	for _, t := range tasks {
		out = append(out, a.view(t))
	}
	apierror.JSON(w, http.StatusOK, map[string]any{"manual_tasks": out})
}

// task loads the path's task if the caller's key may see its tenant; any other task
// answers like a missing one.
func (a *api) task(w http.ResponseWriter, r *http.Request) (fanout.Task, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		apierror.Write(w, a.log, apierror.Fields([]apierror.FieldError{{Field: "id", Message: "must be a task id"}}))
		return fanout.Task{}, false
	}
	t, _, err := a.store.Task(r.Context(), id)
	key, _ := apikey.FromContext(r.Context())
	switch {
	case errors.Is(err, fanout.ErrNoTask) || (err == nil && !key.Allows(t.Tenant)):
		apierror.Write(w, a.log, apierror.New(apierror.NotFound, "no manual task has that id"))
		return fanout.Task{}, false
	case err != nil:
		apierror.Write(w, a.log, apierror.Wrap(apierror.Unavailable, "the task store is unavailable", err))
		return fanout.Task{}, false
	}
	return t, true
}

func (a *api) getTask(w http.ResponseWriter, r *http.Request) {
	if t, ok := a.task(w, r); ok {
		apierror.JSON(w, http.StatusOK, a.view(t))
	}
}

// getTaskDisclosures lists who was shown a task's identifiers, and when.
func (a *api) getTaskDisclosures(w http.ResponseWriter, r *http.Request) {
	t, ok := a.task(w, r)
	if !ok {
		return
	}
	ds, err := a.store.Disclosures(r.Context(), t.ID)
	if err != nil {
		apierror.Write(w, a.log, apierror.Wrap(apierror.Unavailable, "the task store is unavailable", err))
		return
	}
	if ds == nil {
		ds = []postgres.Disclosure{}
	}
	apierror.JSON(w, http.StatusOK, map[string]any{"task_id": t.ID, "disclosures": ds})
}

// disclosureReceipt is the audit log's record of a disclosure: a receipt of the task's
// delivery whose outcome is identifiers_disclosed and whose detail says to whom. It
// names the person by subject key only, as every receipt does.
func (a *api) disclosureReceipt(t fanout.Task, who string, disclosureID int64, at time.Time) (fanout.Message, error) {
	id, err := eventid.Derive(t.EventID, fmt.Sprintf("disclosure/%s/%s/%d", t.Instance, t.Action, disclosureID))
	if err != nil {
		return fanout.Message{}, err
	}
	at = at.UTC()
	msg, err := a.serde.EncodeMessage(a.receiptTopic, t.SubjectKey, &schemas.VendorReceipt{
		Header: schemas.Header{EventID: id, Tenant: t.Tenant, SubjectKey: t.SubjectKey, OccurredAt: at, RecordedAt: at,
			Source: schemas.SourceVendorFanout},
		SourceEventID: t.EventID, RequestID: t.RequestID, Vendor: t.Instance, Action: t.Action,
		Outcome: OutcomeIdentifiersDisclosed, Attempts: 0,
		Detail: fmt.Sprintf("manual task %d: identifiers shown to %s", t.ID, who),
	})
	if err != nil {
		return fanout.Message{}, err
	}
	return fanout.Message{Topic: msg.Topic, Key: msg.Key, Value: msg.Value}, nil
}

// OutcomeIdentifiersDisclosed marks a receipt that records a disclosure, not a vendor's answer.
const OutcomeIdentifiersDisclosed = "identifiers_disclosed"

// getTaskIdentifiers discloses the identifiers the person carrying out the task needs
// (the email to give ZoomInfo, say). Only a key of the subject's tenant opens them; each
// disclosure is logged without the identifiers themselves.
func (a *api) getTaskIdentifiers(w http.ResponseWriter, r *http.Request) {
	t, ok := a.task(w, r)
	if !ok {
		return
	}
	_, sealed, err := a.store.Task(r.Context(), t.ID)
	if err != nil {
		apierror.Write(w, a.log, apierror.Wrap(apierror.Unavailable, "the task store is unavailable", err))
		return
	}
	ids, err := a.opener.Open(r.Context(), t.Tenant, t.SubjectKey, sealed)
	if err != nil {
		apierror.Write(w, a.log, apierror.Wrap(apierror.Unavailable, "the identifiers cannot be opened (erased, or the key store is unavailable)", err))
		return
	}
	// On the record before the identifiers leave: the disclosure row and its audit receipt
	// commit together, and a failure to record is a failure to disclose.
	who := apikey.Who(r.Context())
	d, err := a.store.RecordDisclosure(r.Context(), t.ID, who, func(id int64, at time.Time) (fanout.Message, error) {
		return a.disclosureReceipt(t, who, id, at)
	})
	if err != nil {
		apierror.Write(w, a.log, apierror.Wrap(apierror.Unavailable, "the disclosure could not be recorded, so the identifiers are not shown", err))
		return
	}
	a.wakeRelay()
	a.log.Info("manual task identifiers disclosed", "task_id", t.ID, "vendor", t.Instance, "disclosed_to", who, "disclosure_id", d.ID)
	apierror.JSON(w, http.StatusOK, map[string]any{"task_id": t.ID, "subject_id": ids.SubjectID, "email": ids.Email,
		"anonymous_id": ids.AnonymousID, "vendor_ids": ids.VendorIDs, "disclosure": d})
}

type completion struct {
	CompletedBy string `json:"completed_by"`
	Note        string `json:"note,omitempty"`
}

// completeTask closes a task; its delivery's completed receipt follows at once. A
// second completion changes nothing.
func (a *api) completeTask(w http.ResponseWriter, r *http.Request) {
	t, ok := a.task(w, r)
	if !ok {
		return
	}
	var in completion
	if err := server.DecodeJSON(w, r, 16<<10, &in); err != nil {
		apierror.Write(w, a.log, err)
		return
	}
	if in.CompletedBy == "" || len(in.CompletedBy) > 128 || len(in.Note) > 4096 {
		apierror.Write(w, a.log, apierror.Fields([]apierror.FieldError{{Field: "completed_by", Message: "is required (who did it), at most 128 bytes; note at most 4096"}}))
		return
	}
	if actor, ok := apikey.ActorOf(r.Context()); ok {
		// A front end that names its signed-in person is believed about who, and only
		// about who: the record says which key vouched for them.
		in.CompletedBy = apikey.Who(r.Context())
		if len(in.CompletedBy) > 128 {
			in.CompletedBy = actor
		}
	}
	done, already, err := a.store.CompleteTask(r.Context(), t.ID, in.CompletedBy, in.Note)
	if err != nil {
		apierror.Write(w, a.log, apierror.Wrap(apierror.Unavailable, "the task store is unavailable", err))
		return
	}
	if l, ok := a.lanes[done.Instance]; ok {
		l.Wake()
	}
	apierror.JSON(w, http.StatusOK, map[string]any{"task": a.view(done), "already_completed": already})
}

type backfillRequest struct {
	Tenants []string `json:"tenants,omitempty"`
}

// postBackfill replays the past opt-outs and erasures to one vendor (all the tenants it
// serves, or the ones named). Idempotent: a second run plans nothing new.
func (a *api) postBackfill(w http.ResponseWriter, r *http.Request) {
	if err := apikey.RequireOperator(r.Context()); err != nil {
		apierror.Write(w, a.log, err)
		return
	}
	in, ok := a.routes.Instance(r.PathValue("name"))
	if !ok {
		apierror.Write(w, a.log, apierror.New(apierror.NotFound, "no vendor has that name"))
		return
	}
	var req backfillRequest
	if r.ContentLength != 0 {
		if err := server.DecodeJSON(w, r, 64<<10, &req); err != nil {
			apierror.Write(w, a.log, err)
			return
		}
	}
	planned, inserted, err := a.planner.backfill(r.Context(), in, req.Tenants)
	if err != nil {
		apierror.Write(w, a.log, apierror.Wrap(apierror.Unavailable, "the back-fill did not finish; run it again", err))
		return
	}
	a.log.Info("vendor back-filled on request", "vendor", in.Name, "planned", planned, "new_deliveries", inserted)
	apierror.JSON(w, http.StatusOK, map[string]any{"vendor": in.Name, "planned": planned, "new_deliveries": inserted})
}

func limitParam(s string) (int, error) {
	if s == "" {
		return 100, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 1000 {
		return 0, apierror.Fields([]apierror.FieldError{{Field: "limit", Message: "must be 1-1000"}})
	}
	return n, nil
}
