// Package routing decides what an event means for each vendor: which vendor instances a
// consent change or privacy request reaches, and with which action. It is configuration
// (docs/architecture.md, "Vendors and routing": the table is configuration, not code) and
// pure logic.
//
// A vendor *instance* is one configured account of a vendor type: the company's own
// HubSpot ("hubspot"), or an enterprise Customer's HubSpot with its own credentials
// ("acme-hubspot"). Routes name vendor types; each tenant enables instances. An event of
// tenant T reaches every instance T enables whose type a route names — so one tenant's
// credentials are never used for another tenant's subjects.
package routing

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/consentry/consentry/schemas"
	"github.com/consentry/consentry/services/vendor-fanout/internal/vendor"
)

//go:embed default.json
var defaultTable []byte

//go:embed seed.json
var seedTable []byte

// Default returns the default policy for the four vendors every deployment starts with:
// HubSpot, Amplitude, PostHog and FullStory (docs/architecture.md, "Vendors and routing").
func Default() (*Table, error) { return Parse(defaultTable) }

// Seed returns the full routing table of docs/architecture.md, "Vendors and routing":
// every seed vendor, including the ones without an API, which get tracked manual tasks.
func Seed() (*Table, error) { return Parse(seedTable) }

// Builtin returns a table by name: "default" or "seed".
func Builtin(name string) (*Table, error) {
	switch name {
	case "default":
		return Default()
	case "seed":
		return Seed()
	}
	return nil, fmt.Errorf("routing: no built-in table %q (want default or seed)", name)
}

// Instance is one configured vendor account.
type Instance struct {
	Name string `json:"name"`
	Type string `json:"type"`
	// Tenants that use this instance; "*" means every tenant without an instance of the
	// same type of its own.
	Tenants []string `json:"tenants"`
	// RatePerSecond and Burst come from the vendor's documented limits
	// (docs/vendors/<type>.md). Job polls take the same tokens as deliveries.
	RatePerSecond float64 `json:"rate_per_second"`
	Burst         int     `json:"burst"`
	// Concurrency is how many calls may be in flight to this instance at once.
	Concurrency int `json:"concurrency"`
	// LimitsSource cites where rate_per_second, burst and concurrency come from: the
	// section of docs/vendors/<type>.md with the vendor's documented limits. JSON has no
	// comments, so the citation is a field; the built-in tables must carry it.
	LimitsSource string `json:"limits_source,omitempty"`
	// MaxBatch, above one, lets the lane carry up to that many deliveries in one call
	// where the adapter has a batch endpoint for the action: the vendor's documented
	// batch size, cited like the limits (limits_source). 0 or 1: one delivery a call.
	MaxBatch int `json:"max_batch,omitempty"`
	// BatchWindow is the longest the lane waits for a batch to fill; default 20ms.
	BatchWindow Duration `json:"batch_window,omitzero"`
	// Settings are the non-secret settings of the adapter (base_url, project_id, ...);
	// each may be overridden by CONSENTRY_VENDOR_<NAME>_<KEY>. Secrets come only from
	// the environment.
	Settings map[string]string `json:"settings"`
	// Manual, for vendors without an API, turns each action into a tracked manual task.
	Manual *ManualSpec `json:"manual,omitempty"`
}

// ManualSpec describes the manual task a vendor without an API gets.
type ManualSpec struct {
	Owner        string   `json:"owner"`
	Instructions string   `json:"instructions"`
	Due          Duration `json:"due"`
}

// Duration is a time.Duration written as "72h" in JSON.
type Duration struct{ time.Duration }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New(`want a duration string such as "72h"`)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// Table is a parsed routing table.
type Table struct {
	Instances []Instance `json:"instances"`
	// Denied maps a purpose to the action each vendor type takes when it is denied.
	Denied map[string]map[string]vendor.Action `json:"denied"`
	// Requests maps a privacy request type to the action each vendor type takes.
	Requests map[string]map[string]vendor.Action `json:"requests"`
}

// Delivery is one vendor action an event requires.
type Delivery struct {
	Instance string
	Action   vendor.Action
}

var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,47}$`)

// Parse reads and validates a table, reporting every problem.
func Parse(b []byte) (*Table, error) {
	var t Table
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("routing: %w", err)
	}
	var errs []error
	seen := map[string]bool{}
	types := map[string]bool{}
	for i, in := range t.Instances {
		where := fmt.Sprintf("instances[%d]", i)
		if !namePattern.MatchString(in.Name) {
			errs = append(errs, fmt.Errorf("%s.name: %q is not lower-case letters, digits and '-'", where, in.Name))
		}
		if seen[in.Name] {
			errs = append(errs, fmt.Errorf("%s.name: %q appears twice", where, in.Name))
		}
		seen[in.Name] = true
		if in.Type == "" {
			errs = append(errs, fmt.Errorf("%s.type is required", where))
		}
		types[in.Type] = true
		if len(in.Tenants) == 0 {
			errs = append(errs, fmt.Errorf("%s.tenants: name at least one tenant, or \"*\"", where))
		}
		if in.Manual == nil && (in.RatePerSecond <= 0 || in.Burst <= 0 || in.Concurrency <= 0) {
			errs = append(errs, fmt.Errorf("%s: rate_per_second, burst and concurrency must be positive", where))
		}
		if in.MaxBatch < 0 {
			errs = append(errs, fmt.Errorf("%s.max_batch: must not be negative", where))
		}
		if in.BatchWindow.Duration < 0 || in.BatchWindow.Duration > time.Second {
			errs = append(errs, fmt.Errorf("%s.batch_window: must be between 0 and 1s: a batch that waits longer holds its deliveries back", where))
		}
		if m := in.Manual; m != nil && (m.Owner == "" || m.Instructions == "" || m.Due.Duration <= 0) {
			errs = append(errs, fmt.Errorf("%s.manual: owner, instructions and a positive due are required", where))
		}
	}
	for name, rules := range map[string]map[string]map[string]vendor.Action{"denied": t.Denied, "requests": t.Requests} {
		for key, byType := range rules {
			for typ, action := range byType {
				if !types[typ] {
					errs = append(errs, fmt.Errorf("%s.%s: no instance has type %q", name, key, typ))
				}
				switch action {
				case vendor.DeleteUser, vendor.OptOut, vendor.SuppressEmail, vendor.Restrict, vendor.UpdateConsent,
					vendor.LiftRestriction, vendor.Rectify:
				default:
					errs = append(errs, fmt.Errorf("%s.%s.%s: unknown action %q", name, key, typ, action))
				}
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("routing: %w", err)
	}
	return &t, nil
}

// Instance returns the named instance.
func (t *Table) Instance(name string) (Instance, bool) {
	for _, in := range t.Instances {
		if in.Name == name {
			return in, true
		}
	}
	return Instance{}, false
}

// InstancesFor returns the instances tenant uses, by type. A tenant's own instances of
// a type replace the shared ("*") ones of that type; several instances of one type (two
// HubSpot portals, say) all serve it.
func (t *Table) InstancesFor(tenant string) map[string][]Instance {
	own := map[string][]Instance{}
	shared := map[string][]Instance{}
	for _, in := range t.Instances {
		for _, tn := range in.Tenants {
			switch tn {
			case tenant:
				own[in.Type] = append(own[in.Type], in)
			case "*":
				shared[in.Type] = append(shared[in.Type], in)
			}
		}
	}
	for typ, ins := range shared {
		if _, ok := own[typ]; !ok {
			own[typ] = ins
		}
	}
	return own
}

// Serves reports whether instance in serves tenant.
func (t *Table) Serves(in Instance, tenant string) bool {
	for _, x := range t.InstancesFor(tenant)[in.Type] {
		if x.Name == in.Name {
			return true
		}
	}
	return false
}

// Decision is what routing needs of a consent change or privacy request.
type Decision interface {
	RoutingInput() (tenant string, purposes map[string]string, requestType string)
}

// Plan returns the deliveries a recorded decision requires.
func (t *Table) Plan(d Decision) []Delivery {
	tenant, purposes, requestType := d.RoutingInput()
	if requestType != "" {
		return t.ForRequest(tenant, requestType)
	}
	return t.ForConsent(tenant, purposes)
}

// ForConsent returns the deliveries a consent change requires: for every denied purpose,
// each routed vendor's action. A vendor named by several denied purposes with the same
// action gets it once.
func (t *Table) ForConsent(tenant string, purposes map[string]string) []Delivery {
	var denied []string
	for p, d := range purposes {
		if d == schemas.Denied {
			denied = append(denied, p)
		}
	}
	return t.plan(tenant, t.Denied, denied)
}

// RestrictionLift is the route of a restriction whose scope is "lift": lifting reverses
// what applying did, which vendors do with other actions or not at all, so it has its
// own entry in Requests.
const RestrictionLift = "restriction_lift"

// RequestRoute returns the Requests entry of a privacy request of type typ and scope.
func RequestRoute(typ, scope string) string {
	if typ == schemas.RequestRestriction && scope == schemas.ScopeLift {
		return RestrictionLift
	}
	return typ
}

// ForRequest returns the deliveries a privacy request routed as typ (see RequestRoute)
// requires.
func (t *Table) ForRequest(tenant, typ string) []Delivery {
	return t.plan(tenant, t.Requests, []string{typ})
}

func (t *Table) plan(tenant string, rules map[string]map[string]vendor.Action, keys []string) []Delivery {
	instances := t.InstancesFor(tenant)
	set := map[Delivery]bool{}
	for _, k := range keys {
		for typ, action := range rules[k] {
			for _, in := range instances[typ] {
				set[Delivery{Instance: in.Name, Action: action}] = true
			}
		}
	}
	out := make([]Delivery, 0, len(set))
	for d := range set {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Instance != out[j].Instance {
			return out[i].Instance < out[j].Instance
		}
		return out[i].Action < out[j].Action
	})
	return out
}
