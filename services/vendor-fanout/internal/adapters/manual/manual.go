// Package manual turns actions for vendors without an API (ZoomInfo, Lusha, RB2B, 11x,
// LinkedIn's member data) into tracked tasks with an owner, a deadline and instructions.
// It is an adapter like the others, so such vendors get the same lanes, receipts and
// dead letters: Deliver opens the task, Poll reports it done once a person completed it.
package manual

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/consentry/consentry/services/vendor-fanout/internal/fanout"
	"github.com/consentry/consentry/services/vendor-fanout/internal/routing"
	"github.com/consentry/consentry/services/vendor-fanout/internal/vendor"
)

// Adapter opens manual tasks for one vendor instance.
type Adapter struct {
	instance string
	spec     routing.ManualSpec
	tasks    fanout.Tasks
	now      func() time.Time
}

var (
	_ vendor.Adapter = (*Adapter)(nil)
	_ vendor.Poller  = (*Adapter)(nil)
	_ vendor.Patient = (*Adapter)(nil)
)

// New returns the adapter of a manual instance.
func New(instance string, spec routing.ManualSpec, tasks fanout.Tasks, now func() time.Time) *Adapter {
	if now == nil {
		now = time.Now
	}
	return &Adapter{instance: instance, spec: spec, tasks: tasks, now: now}
}

// Supports every action: a person can do whatever no API does.
func (a *Adapter) Supports(vendor.Action) bool { return true }

// Patient: a task is tracked until a person completes it.
func (a *Adapter) Patient() bool { return true }

// Deliver opens the task (once per delivery, however often it is called).
func (a *Adapter) Deliver(ctx context.Context, req vendor.Request) (vendor.Result, error) {
	id, err := a.tasks.CreateTask(ctx, fanout.Task{
		DeliveryKey: req.IdempotencyKey, Instance: a.instance, Action: string(req.Action), Tenant: req.Tenant,
		SubjectKey: req.SubjectKey, EventID: req.EventID, RequestID: req.RequestID, Owner: a.spec.Owner,
		Instructions: a.spec.Instructions, DueAt: a.now().Add(a.spec.Due.Duration),
	})
	if err != nil {
		return vendor.Result{}, &vendor.Error{Kind: vendor.Transient, Msg: "opening the manual task: " + err.Error()}
	}
	return vendor.Result{Outcome: vendor.Accepted, Reference: "task:" + strconv.FormatInt(id, 10),
		Detail: "manual task opened for " + a.spec.Owner}, nil
}

// Poll reports whether the task was completed.
func (a *Adapter) Poll(ctx context.Context, _ vendor.Request, reference string) (bool, error) {
	id, err := strconv.ParseInt(strings.TrimPrefix(reference, "task:"), 10, 64)
	if err != nil || !strings.HasPrefix(reference, "task:") {
		return false, &vendor.Error{Kind: vendor.Permanent, Msg: fmt.Sprintf("reference %q names no task", reference)}
	}
	status, err := a.tasks.TaskStatus(ctx, id)
	if errors.Is(err, fanout.ErrNoTask) {
		return false, &vendor.Error{Kind: vendor.Permanent, Msg: "the manual task is gone"}
	}
	if err != nil {
		return false, &vendor.Error{Kind: vendor.Transient, Msg: "reading the manual task: " + err.Error()}
	}
	return status == fanout.TaskCompleted, nil
}
