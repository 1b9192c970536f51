// Package amplitude delivers erasure to Amplitude's User Privacy API v1 (docs/vendors/amplitude.md).
package amplitude

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/vendorhttp"
	"github.com/consentry/consentry/services/vendor-fanout/internal/vendor"
)

var (
	_ vendor.Adapter      = (*Adapter)(nil)
	_ vendor.Poller       = (*Adapter)(nil)
	_ vendor.BatchAdapter = (*Adapter)(nil)
)

const (
	dayLayout = "2006-01-02"
	// refPrefix marks a Reference as a scheduled job day: Amplitude has no job id, a
	// job is the project plus the day it runs.
	refPrefix = "day:"
)

// Config configures the Amplitude adapter.
type Config struct {
	// BaseURL is the API root; production is https://amplitude.com (EU residency:
	// https://analytics.eu.amplitude.com).
	BaseURL string
	// APIKey and SecretKey are the project's key pair, sent as HTTP Basic auth.
	APIKey    string
	SecretKey string
	// Requester is recorded with each deletion for Amplitude's audit trail; default
	// "consentry". It is not a person: no personal data leaves for the audit.
	Requester string
	// HTTP is the client to use; nil means one with a 10 s timeout.
	HTTP *http.Client
	// Now is the clock for Retry-After arithmetic; nil means time.Now.
	Now func() time.Time
}

// Adapter is the Amplitude adapter.
type Adapter struct {
	base      string
	requester string
	client    *vendorhttp.Client
	now       func() time.Time

	// A day's job answers for every deletion that joined it, and its listing grows with
	// each of them: one request serves all deliveries polling that day at once, and a
	// done day is never asked about again.
	polls    singleflight.Group
	mu       sync.Mutex
	doneDays map[string]bool
	pending  map[string]time.Time // day → when it was last seen not done
}

// pendingFresh is how long "not done yet" answers for a day before it is asked again.
const pendingFresh = time.Second

// New validates cfg and returns an adapter; the error names every field at fault.
func New(cfg Config) (*Adapter, error) {
	if cfg.Requester == "" {
		cfg.Requester = "consentry"
	}
	base, err := vendorhttp.BaseURL("amplitude: BaseURL", cfg.BaseURL)
	err = errors.Join(err,
		vendorhttp.Required("amplitude: APIKey", cfg.APIKey),
		vendorhttp.Required("amplitude: SecretKey", cfg.SecretKey))
	if err != nil {
		return nil, err
	}
	auth := func(r *http.Request) { r.SetBasicAuth(cfg.APIKey, cfg.SecretKey) }
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Adapter{base: base, requester: cfg.Requester, client: vendorhttp.NewClient(cfg.HTTP, cfg.Now, auth), now: cfg.Now,
		doneDays: map[string]bool{}, pending: map[string]time.Time{}}, nil
}

// Supports reports DeleteUser only: Amplitude has no server-side opt-out.
func (a *Adapter) Supports(action vendor.Action) bool { return action == vendor.DeleteUser }

// job is Amplitude's deletion-job object. amplitude_ids is left out: it lists
// Amplitude's ids, not ours, so it cannot tell us which entry is this subject.
type job struct {
	Day    string `json:"day"`
	Status string `json:"status"`
}

// maxIDs is the most ids one deletion request may carry (docs/vendors/amplitude.md,
// "Documented contract": "up to 100 amplitude_ids or user_ids").
const maxIDs = 100

// Deliver adds the subject's user id to the project's next deletion batch. The result
// is Accepted with Reference "day:<YYYY-MM-DD>", the day the batch is scheduled.
func (a *Adapter) Deliver(ctx context.Context, req vendor.Request) (vendor.Result, error) {
	outs, err := a.DeliverBatch(ctx, []vendor.Request{req})
	if err != nil {
		return vendor.Result{}, err
	}
	return outs[0].Result, outs[0].Err
}

// MaxBatch is the documented 100 ids per deletion request.
func (a *Adapter) MaxBatch(action vendor.Action) int {
	if action == vendor.DeleteUser {
		return maxIDs
	}
	return 0
}

// DeliverBatch adds every subject's user id to the project's next deletion batch in one
// request. Each delivery is decided by the answer: its uid in invalid_ids is
// AlreadyDone, any other is Accepted on the answer's job day (one job a project a day,
// so they share the Reference). Amplitude answers a request holding an id it refuses
// with one 400 for all (docs/vendors/amplitude.md): an error marked Whole.
func (a *Adapter) DeliverBatch(ctx context.Context, reqs []vendor.Request) ([]vendor.ItemOutcome, error) {
	outs := make([]vendor.ItemOutcome, len(reqs))
	uids := make([]string, len(reqs))
	var send []string
	seen := map[string]bool{}
	for i, req := range reqs {
		if !a.Supports(req.Action) {
			outs[i].Err = vendorhttp.Unsupported(req.Action)
			continue
		}
		uids[i] = strings.TrimSpace(req.IDs.UserID("amplitude"))
		if uids[i] == "" {
			outs[i].Result = vendorhttp.Skipped("user id")
			continue
		}
		if !seen[uids[i]] {
			seen[uids[i]] = true
			send = append(send, uids[i])
		}
	}
	if len(send) == 0 {
		return outs, nil
	}
	if len(send) > maxIDs {
		return nil, &vendor.Error{Kind: vendor.Permanent, Msg: "more than 100 ids in one deletion request"}
	}
	resp, err := a.client.Do(ctx, vendorhttp.Request{
		Method: http.MethodPost,
		URL:    a.base + "/api/2/deletions/users",
		Body: map[string]any{
			"user_ids":          send,
			"requester":         a.requester,
			"ignore_invalid_id": true,
		},
		IdempotencyKey: batchKey(reqs),
	})
	if err != nil {
		return nil, err
	}
	if !resp.OK() {
		e := resp.Error("", a.client.Now())
		// The docs' 400 names no id: with several in the request, any may be the bad one.
		e.Whole = e.Kind == vendor.Permanent && len(send) > 1
		return nil, e
	}
	var j struct {
		job
		// InvalidIDs are the ids the project does not know, returned with 200 because we
		// send ignore_invalid_id (docs/vendors/amplitude.md): Amplitude holds nothing of
		// them, and may schedule no job for them.
		InvalidIDs []any `json:"invalid_ids"`
	}
	if err := resp.Decode(&j); err != nil {
		return nil, err
	}
	invalid := map[string]bool{}
	for _, id := range j.InvalidIDs {
		if s, ok := id.(string); ok {
			invalid[s] = true
		}
	}
	_, dayErr := time.Parse(dayLayout, j.Day)
	for i, uid := range uids {
		switch {
		case outs[i].Err != nil || uid == "":
		case invalid[uid]:
			outs[i].Result = vendor.Result{Outcome: vendor.AlreadyDone, HTTPStatus: resp.StatusCode, Detail: "Amplitude holds no data of this user id"}
		case dayErr != nil:
			outs[i].Err = &vendor.Error{Kind: vendor.Transient, HTTPStatus: resp.StatusCode, Msg: "answer holds no job day"}
		default:
			outs[i].Result = vendor.Result{Outcome: vendor.Accepted, HTTPStatus: resp.StatusCode, Reference: refPrefix + j.Day}
		}
	}
	return outs, nil
}

// batchKey is the Idempotency-Key of a request: the delivery's own key for one, a digest
// of the deliveries' keys for a batch, so that the same batch retried sends the same
// key. Amplitude documents no such header; each delivery's key stays its own in its
// receipt.
func batchKey(reqs []vendor.Request) string {
	if len(reqs) == 1 {
		return reqs[0].IdempotencyKey
	}
	h := sha256.New()
	for _, r := range reqs {
		h.Write([]byte(r.IdempotencyKey))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Poll lists the jobs scheduled on the reference's day and reports done once the job
// is "done", in any case: the docs write it "Done" in the field table and "done" in the
// examples.
//
// Matching rule: a project has one batch per scheduled day (its API key names the
// project), so the job whose day equals the reference's day is the one our request
// joined. The listing gives amplitude_ids, not user ids, so the subject cannot be
// matched inside the job without keeping an amplitude_id, which is itself a personal
// identifier and may not be a Reference. Should the listing hold several jobs for the
// day, all must be done. No job for the day means the request was withdrawn or the
// reference is wrong: a Permanent error, for an operator to look at.
func (a *Adapter) Poll(ctx context.Context, req vendor.Request, reference string) (bool, error) {
	day, ok := strings.CutPrefix(reference, refPrefix)
	if _, err := time.Parse(dayLayout, day); !ok || err != nil {
		return false, &vendor.Error{Kind: vendor.Permanent, Msg: "reference is not day:YYYY-MM-DD"}
	}
	// The check and the record both happen inside the flight: a caller that read "not
	// asked yet" just before a flight ended would otherwise start a second request.
	v, err, _ := a.polls.Do(day, func() (any, error) {
		if done, fresh := a.known(day); done || fresh {
			return done, nil
		}
		done, err := a.pollDay(ctx, day)
		if err != nil {
			return false, err
		}
		a.mu.Lock()
		defer a.mu.Unlock()
		if done {
			a.doneDays[day] = true
			delete(a.pending, day)
		} else {
			a.pending[day] = a.now()
		}
		return done, nil
	})
	if err != nil {
		return false, err
	}
	return v.(bool), nil
}

// known reports what is already known of day: done, or seen not done recently enough
// that asking again would learn nothing.
func (a *Adapter) known(day string) (done, fresh bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.doneDays[day] {
		return true, false
	}
	seen := a.pending[day]
	return false, !seen.IsZero() && a.now().Sub(seen) < pendingFresh
}

func (a *Adapter) pollDay(ctx context.Context, day string) (bool, error) {
	q := url.Values{"start_day": {day}, "end_day": {day}}
	resp, err := a.client.Do(ctx, vendorhttp.Request{
		Method: http.MethodGet,
		URL:    a.base + "/api/2/deletions/users?" + q.Encode(),
	})
	if err != nil {
		return false, err
	}
	if !resp.OK() {
		return false, resp.Error("", a.client.Now())
	}
	var jobs []job
	if err := resp.Decode(&jobs); err != nil {
		return false, err
	}
	found := false
	for _, j := range jobs {
		if j.Day != day {
			continue
		}
		found = true
		if !strings.EqualFold(j.Status, "done") {
			return false, nil
		}
	}
	if !found {
		return false, &vendor.Error{Kind: vendor.Permanent, HTTPStatus: resp.StatusCode, Msg: "no deletion job scheduled on the reference's day"}
	}
	return true, nil
}
