// Package backend is the console's only way to the data: the four services' HTTP APIs,
// called with the console's API key and the signed-in person named in the
// Consentry-Actor header, so the service that acts records who asked. The console keeps
// nothing of its own.
package backend

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/consentry/consentry/platform/apikey"
)

// Config locates the services.
type Config struct {
	IngestURL, UnsubscribeURL, FanoutURL, AuditURL string
	// APIKey is the console's all-tenant key: operator and the request, task and subject
	// permissions, and actor.
	APIKey string
	// ControllerKeys hold enterprise Customers' own keys (tenant -> key), for the requests
	// only a Customer's controller credential may approve; a tenant without one is decided
	// by the Customer itself, not from the console.
	ControllerKeys map[string]string
	HTTP           *http.Client
}

// Client calls the services.
type Client struct{ cfg Config }

// New returns a client.
func New(cfg Config) *Client {
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{Timeout: 30 * time.Second}
	}
	return &Client{cfg: cfg}
}

// Error is a service's refusal, with its message meant for people.
type Error struct {
	Status  int
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%d: %s", e.Status, e.Message) }

// IsNotFound reports whether err is a service's 404.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

func (c *Client) do(ctx context.Context, method, base, path, key, actor string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if actor != "" {
		req.Header.Set(apikey.ActorHeader, actor)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.cfg.HTTP.Do(req)
	if err != nil {
		// The URL may carry a subject id on the audit API's subject routes: say which
		// service failed, not where.
		return fmt.Errorf("%s %s is unreachable", method, serviceName(c, base))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		_ = json.Unmarshal(raw, &e)
		msg := e.Error.Message
		if msg == "" {
			msg = http.StatusText(resp.StatusCode)
		}
		return &Error{Status: resp.StatusCode, Message: msg}
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

func serviceName(c *Client, base string) string {
	switch base {
	case c.cfg.IngestURL:
		return "consent-ingest"
	case c.cfg.UnsubscribeURL:
		return "unsubscribe-handler"
	case c.cfg.FanoutURL:
		return "vendor-fanout"
	default:
		return "audit-sink"
	}
}

// ---- requests (audit-sink reads, consent-ingest acts) ----

// RequestSummary is one row of the request list.
type RequestSummary struct {
	RequestID      string     `json:"request_id"`
	Tenant         string     `json:"tenant"`
	Type           string     `json:"type"`
	Status         string     `json:"status"`
	ReceivedAt     time.Time  `json:"received_at"`
	DeadlineAt     *time.Time `json:"deadline_at"`
	DeadlineStatus string     `json:"deadline_status"`
	ClosedAt       *time.Time `json:"closed_at"`
}

// Requests lists requests; filter is a status, at_risk, overdue or empty.
func (c *Client) Requests(ctx context.Context, filter string, limit int) ([]RequestSummary, error) {
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	if filter != "" {
		q.Set("status", filter)
	}
	var out struct {
		Requests []RequestSummary `json:"requests"`
	}
	err := c.do(ctx, "GET", c.cfg.AuditURL, "/v1/privacy-requests?"+q.Encode(), c.cfg.APIKey, "", nil, &out)
	return out.Requests, err
}

// Request is one request with its timeline and vendors.
type Request struct {
	RequestSummary
	Reason       string `json:"reason"`
	Scope        string `json:"scope"`
	Jurisdiction string `json:"jurisdiction"`
	Extensions   []struct {
		At         time.Time  `json:"at"`
		DeadlineAt *time.Time `json:"deadline_at"`
		Reason     string     `json:"reason"`
	} `json:"extensions"`
	Transitions []struct {
		Status string    `json:"status"`
		At     time.Time `json:"at"`
		Detail string    `json:"detail"`
	} `json:"transitions"`
	Vendors []struct {
		Vendor   string `json:"vendor"`
		Action   string `json:"action"`
		Status   string `json:"status"`
		Receipts []struct {
			Outcome         string    `json:"outcome"`
			At              time.Time `json:"at"`
			Attempts        int       `json:"attempts"`
			HTTPStatus      int       `json:"http_status"`
			VendorReference string    `json:"vendor_reference"`
			Detail          string    `json:"detail"`
		} `json:"receipts"`
	} `json:"vendors"`
}

// Request reads one request.
func (c *Client) Request(ctx context.Context, id string) (Request, error) {
	var out Request
	err := c.do(ctx, "GET", c.cfg.AuditURL, "/v1/privacy-requests/"+url.PathEscape(id), c.cfg.APIKey, "", nil, &out)
	return out, err
}

// Decide approves, rejects or extends a request for actor. An enterprise Customer's
// request goes with that Customer's own key when the console holds one.
func (c *Client) Decide(ctx context.Context, actor, tenant, id, action, reason string) error {
	key := c.cfg.APIKey
	if k, ok := c.cfg.ControllerKeys[tenant]; ok {
		key = k
	}
	var body any
	if action != "approve" {
		body = map[string]string{"reason": reason}
	}
	return c.do(ctx, "POST", c.cfg.IngestURL, "/v1/privacy-requests/"+url.PathEscape(id)+"/"+action, key, actor, body, nil)
}

// ---- manual tasks (vendor-fanout) ----

// Task is a manual task.
type Task struct {
	ID           int64      `json:"id"`
	Vendor       string     `json:"vendor"`
	Action       string     `json:"action"`
	Tenant       string     `json:"tenant"`
	RequestID    string     `json:"request_id"`
	Owner        string     `json:"owner"`
	Instructions string     `json:"instructions"`
	DueAt        time.Time  `json:"due_at"`
	Overdue      bool       `json:"overdue"`
	Status       string     `json:"status"`
	CompletedAt  *time.Time `json:"completed_at"`
	CompletedBy  string     `json:"completed_by"`
	Note         string     `json:"note"`
}

// OpenTasks lists open tasks.
func (c *Client) OpenTasks(ctx context.Context) ([]Task, error) {
	var out struct {
		Tasks []Task `json:"manual_tasks"`
	}
	err := c.do(ctx, "GET", c.cfg.FanoutURL, "/v1/manual-tasks?status=open&limit=500", c.cfg.APIKey, "", nil, &out)
	return out.Tasks, err
}

// Task reads one task.
func (c *Client) Task(ctx context.Context, id int64) (Task, error) {
	var out Task
	err := c.do(ctx, "GET", c.cfg.FanoutURL, "/v1/manual-tasks/"+strconv.FormatInt(id, 10), c.cfg.APIKey, "", nil, &out)
	return out, err
}

// Identifiers are what a person needs to carry out a task.
type Identifiers struct {
	SubjectID   string            `json:"subject_id"`
	Email       string            `json:"email"`
	AnonymousID string            `json:"anonymous_id"`
	VendorIDs   map[string]string `json:"vendor_ids"`
}

// Reveal opens a task's identifiers for actor; vendor-fanout records the disclosure
// before it answers.
func (c *Client) Reveal(ctx context.Context, actor string, id int64) (Identifiers, error) {
	var out Identifiers
	err := c.do(ctx, "GET", c.cfg.FanoutURL, "/v1/manual-tasks/"+strconv.FormatInt(id, 10)+"/identifiers", c.cfg.APIKey, actor, nil, &out)
	return out, err
}

// Complete closes a task for actor.
func (c *Client) Complete(ctx context.Context, actor string, id int64, note string) error {
	return c.do(ctx, "POST", c.cfg.FanoutURL, "/v1/manual-tasks/"+strconv.FormatInt(id, 10)+"/complete", c.cfg.APIKey, actor,
		map[string]string{"completed_by": actor, "note": note}, nil)
}

// ---- dead letters and lanes (vendor-fanout) ----

// DeadLetter is a parked delivery.
type DeadLetter struct {
	ID         int64     `json:"id"`
	Vendor     string    `json:"vendor"`
	Action     string    `json:"action"`
	RequestID  string    `json:"request_id"`
	Tenant     string    `json:"tenant"`
	Attempts   int       `json:"attempts"`
	HTTPStatus int       `json:"http_status"`
	LastError  string    `json:"last_error"`
	DeadSince  time.Time `json:"dead_since"`
}

// DeadLetters lists parked deliveries.
func (c *Client) DeadLetters(ctx context.Context) ([]DeadLetter, error) {
	var out struct {
		DeadLetters []DeadLetter `json:"dead_letters"`
	}
	err := c.do(ctx, "GET", c.cfg.FanoutURL, "/v1/dead-letters?limit=1000", c.cfg.APIKey, "", nil, &out)
	return out.DeadLetters, err
}

// ReplayOne puts one dead letter back in its lane.
func (c *Client) ReplayOne(ctx context.Context, actor string, id int64) error {
	return c.do(ctx, "POST", c.cfg.FanoutURL, "/v1/dead-letters/"+strconv.FormatInt(id, 10)+"/replay", c.cfg.APIKey, actor, nil, nil)
}

// ReplayVendor puts all of a vendor's dead letters back.
func (c *Client) ReplayVendor(ctx context.Context, actor, vendor string) error {
	return c.do(ctx, "POST", c.cfg.FanoutURL, "/v1/vendors/"+url.PathEscape(vendor)+"/replay-dead-letters", c.cfg.APIKey, actor, nil, nil)
}

// Lane is one vendor lane's state.
type Lane struct {
	Name              string     `json:"name"`
	Type              string     `json:"type"`
	Breaker           string     `json:"breaker"`
	QueueDepth        int        `json:"queue_depth"`
	OldestPendingAgeS float64    `json:"oldest_pending_age_s"`
	AwaitingJobs      int        `json:"awaiting_vendor_jobs"`
	ThrottledUntil    *time.Time `json:"throttled_until"`
	RatePerSecond     float64    `json:"rate_per_second"`
	Quota             *Quota     `json:"quota"`
	LastError         string     `json:"last_error"`
	Done              int        `json:"deliveries_done"`
	DeadLettered      int        `json:"deliveries_dead_lettered"`
}

// Quota is the vendor's last word that its quota was spent.
type Quota struct {
	Reason  string     `json:"reason"`
	SpentAt time.Time  `json:"spent_at"`
	ResetAt *time.Time `json:"reset_at"`
}

// Lanes reads every vendor lane.
func (c *Client) Lanes(ctx context.Context) ([]Lane, error) {
	var out struct {
		Vendors []Lane `json:"vendors"`
	}
	err := c.do(ctx, "GET", c.cfg.FanoutURL, "/v1/vendors", c.cfg.APIKey, "", nil, &out)
	return out.Vendors, err
}

// ---- subjects (audit-sink, unsubscribe-handler) ----

// Proof is a subject's current decision for one purpose and the audit event that set it.
type Proof struct {
	Decision      string    `json:"decision"`
	EventID       string    `json:"event_id"`
	Source        string    `json:"source"`
	PolicyVersion string    `json:"policy_version"`
	OccurredAt    time.Time `json:"occurred_at"`
	Seq           int64     `json:"audit_seq"`
}

// SubjectConsent reads a subject's consent proof per purpose.
func (c *Client) SubjectConsent(ctx context.Context, tenant, subjectID string) (map[string]Proof, error) {
	var out struct {
		Purposes map[string]Proof `json:"purposes"`
	}
	err := c.do(ctx, "GET", c.cfg.AuditURL, "/v1/subjects/"+url.PathEscape(tenant)+"/"+url.PathEscape(subjectID)+"/consent", c.cfg.APIKey, "", nil, &out)
	return out.Purposes, err
}

// HistoryEntry is one audit log event of a subject.
type HistoryEntry struct {
	Type       string         `json:"type"`
	EventID    string         `json:"event_id"`
	OccurredAt time.Time      `json:"occurred_at"`
	Details    map[string]any `json:"details"`
}

// SubjectHistory reads a subject's audit history.
func (c *Client) SubjectHistory(ctx context.Context, tenant, subjectID string) ([]HistoryEntry, error) {
	var out struct {
		Events []HistoryEntry `json:"events"`
	}
	err := c.do(ctx, "GET", c.cfg.AuditURL, "/v1/subjects/"+url.PathEscape(tenant)+"/"+url.PathEscape(subjectID)+"/history?limit=200", c.cfg.APIKey, "", nil, &out)
	return out.Events, err
}

// Suppression is an address's suppression per tenant.
type Suppression struct {
	Suppressed bool `json:"suppressed"`
	Tenants    []struct {
		Tenant     string    `json:"tenant"`
		Suppressed bool      `json:"suppressed"`
		Reason     string    `json:"reason"`
		Scope      string    `json:"scope"`
		Source     string    `json:"source"`
		ChangedAt  time.Time `json:"changed_at"`
	} `json:"tenants"`
}

// SuppressionByHash reads an address's suppression by its SHA-256 (the address itself
// never leaves the console).
func (c *Client) SuppressionByHash(ctx context.Context, hash string) (Suppression, error) {
	var out Suppression
	err := c.do(ctx, "GET", c.cfg.UnsubscribeURL, "/v1/suppressions/"+hash, c.cfg.APIKey, "", nil, &out)
	return out, err
}

// ---- the audit chains (audit-sink) ----

// Verification is an audit chain verification.
type Verification struct {
	OK         bool      `json:"ok"`
	Rows       int64     `json:"rows"`
	Unchained  int64     `json:"unchained_rows"`
	VerifiedAt time.Time `json:"verified_at"`
	Chains     []struct {
		Chain string `json:"chain"`
		Rows  int64  `json:"rows"`
		Break *struct {
			Seq  int64  `json:"chain_seq"`
			Kind string `json:"kind"`
		} `json:"break"`
	} `json:"chains"`
}

// LastVerification reads the last verification audit-sink ran; ok is false when none has
// run since it started.
func (c *Client) LastVerification(ctx context.Context) (Verification, bool, error) {
	var out Verification
	err := c.do(ctx, "GET", c.cfg.AuditURL, "/v1/audit/last-verification", c.cfg.APIKey, "", nil, &out)
	if IsNotFound(err) {
		return out, false, nil
	}
	return out, err == nil, err
}

// VerifyNow recomputes every chain.
func (c *Client) VerifyNow(ctx context.Context, actor string) (Verification, error) {
	var out Verification
	err := c.do(ctx, "GET", c.cfg.AuditURL, "/v1/audit/verify", c.cfg.APIKey, actor, nil, &out)
	return out, err
}
