// Package backfill decides what a newly enabled vendor owes for the past: the opt-outs
// and restrictions still in force and the erasures already requested. It is pure; the
// service streams the recorded decisions through it and inserts the result, which is
// idempotent because a delivery is keyed by (event, vendor, action).
package backfill

import (
	"sort"

	"github.com/consentry/consentry/schemas"
	"github.com/consentry/consentry/services/vendor-fanout/internal/fanout"
	"github.com/consentry/consentry/services/vendor-fanout/internal/routing"
	"github.com/consentry/consentry/services/vendor-fanout/internal/vendor"
)

// Item is one action owed, and the decision it answers.
type Item struct {
	Decision fanout.Decision
	Action   vendor.Action
}

// Plan returns what instance in owes for one subject, given the subject's decisions (in
// any order: they are put in the order they happened). For consents only the current state counts (last writer wins
// by occurred_at, then event id): a person who opted out and back in again owes nothing.
// One item per action, answering the latest decision that requires it, so the same
// back-fill always picks the same events. Every erasure request is owed, and a
// restriction still in force (not lifted since). Other requests are not replayed: a
// rectification or a lift concerns what vendors held then, and a vendor enabled later
// starts from the current identifiers and the current consent.
func Plan(t *routing.Table, in routing.Instance, decisions []fanout.Decision) []Item {
	if len(decisions) == 0 {
		return nil
	}
	if !t.Serves(in, decisions[0].Tenant) {
		return nil // this tenant does not use the instance
	}
	decisions = append([]fanout.Decision(nil), decisions...)
	sort.SliceStable(decisions, func(i, j int) bool { return later(decisions[j], decisions[i]) })
	latest := map[string]fanout.Decision{} // purpose → decision that set its current state
	byAction := map[vendor.Action]fanout.Decision{}
	var (
		requests    []Item
		restriction *fanout.Decision // the latest restriction, applied or lifted
	)
	for _, d := range decisions {
		switch {
		case d.Kind == fanout.KindConsent:
			for p := range d.Purposes {
				latest[p] = d
			}
		case d.RequestType == schemas.RequestErasure:
			if action, ok := t.Requests[d.RequestType][in.Type]; ok {
				requests = append(requests, Item{Decision: d, Action: action})
			}
		case d.RequestType == schemas.RequestRestriction:
			restriction = &d
		}
	}
	if r := restriction; r != nil && routing.RequestRoute(r.RequestType, r.Scope) == schemas.RequestRestriction {
		if action, ok := t.Requests[schemas.RequestRestriction][in.Type]; ok {
			requests = append(requests, Item{Decision: *r, Action: action})
		}
	}
	for purpose, d := range latest {
		if d.Purposes[purpose] != schemas.Denied {
			continue
		}
		action, ok := t.Denied[purpose][in.Type]
		if !ok {
			continue
		}
		if cur, seen := byAction[action]; !seen || later(d, cur) {
			byAction[action] = d
		}
	}
	out := requests
	for action, d := range byAction {
		out = append(out, Item{Decision: d, Action: action})
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Decision.OccurredAt.Equal(out[j].Decision.OccurredAt) {
			return out[i].Decision.OccurredAt.Before(out[j].Decision.OccurredAt)
		}
		return out[i].Decision.EventID+string(out[i].Action) < out[j].Decision.EventID+string(out[j].Action)
	})
	return out
}

func later(a, b fanout.Decision) bool {
	if !a.OccurredAt.Equal(b.OccurredAt) {
		return a.OccurredAt.After(b.OccurredAt)
	}
	return a.EventID > b.EventID
}
