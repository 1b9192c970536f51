// Package linkedin removes a subject's hashed email from a Matched Audiences (DMP)
// segment, the only suppression LinkedIn offers advertisers (docs/vendors/linkedin.md). Erasure
// of what LinkedIn itself holds has no API; the core raises a manual task for it.
package linkedin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/consentry/consentry/platform/pseudonym"
	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/oauth"
	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/vendorhttp"
	"github.com/consentry/consentry/services/vendor-fanout/internal/vendor"
)

var (
	_ vendor.Adapter      = (*Adapter)(nil)
	_ vendor.Versioned    = (*Adapter)(nil)
	_ vendor.BatchAdapter = (*Adapter)(nil)
)

var versionRE = regexp.MustCompile(`^\d{4}(0[1-9]|1[0-2])$`)

// DefaultVersion is the LinkedIn-Version sent when an instance configures none: the
// newest version in the material read for docs/vendors/linkedin.md ("Versioning"),
// sunset on 16 March 2027. Move it forward before consentry_vendor_api_version_sunset_seconds
// runs out (docs/runbooks/ConsentryVendorAPIVersionSunset.md).
const DefaultVersion = "202603"

// knownSunsets are the sunset dates LinkedIn's migrations page publishes
// (docs/vendors/linkedin.md, "Versioning"). A version not listed is taken to live the
// documented minimum of a year, counted from the first of its month: LinkedIn has so
// far retired versions in the middle of that month, so the estimate errs early.
var knownSunsets = map[string]time.Time{
	"202511": time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC),
	"202601": time.Date(2027, 1, 15, 0, 0, 0, 0, time.UTC),
	"202603": time.Date(2027, 3, 16, 0, 0, 0, 0, time.UTC),
}

// Sunset is when LinkedIn stops serving version (YYYYMM): the published date when
// known, else a year after the first of its month. ok is false for a malformed version.
func Sunset(version string) (sunset time.Time, ok bool) {
	if !versionRE.MatchString(version) {
		return time.Time{}, false
	}
	if t, ok := knownSunsets[version]; ok {
		return t, true
	}
	released, err := time.Parse("200601", version)
	if err != nil {
		return time.Time{}, false
	}
	return released.AddDate(1, 0, 0), true
}

// Config configures the LinkedIn adapter.
type Config struct {
	// BaseURL is the API root; production is https://api.linkedin.com.
	BaseURL string
	// AccessToken is an OAuth 2.0 member token with rw_dmp_segments.
	AccessToken string
	// Tokens, when set, replaces AccessToken: renewed from a programmatic refresh token
	// before its 60 days run out and once after a 401.
	Tokens *oauth.Source
	// SegmentID is the DMP segment subjects are removed from.
	SegmentID string
	// Version is the LinkedIn-Version header, YYYYMM; default DefaultVersion.
	Version string
	// VersionSunset overrides when Version stops being served, for a version whose
	// published date differs from Sunset's estimate; zero means Sunset(Version).
	VersionSunset time.Time
	// HTTP is the client to use; nil means one with a 10 s timeout.
	HTTP *http.Client
	// Now is the clock for Retry-After arithmetic; nil means time.Now.
	Now func() time.Time
}

// Adapter is the LinkedIn adapter.
type Adapter struct {
	usersURL string
	version  string
	sunset   time.Time
	client   *vendorhttp.Client
}

// New validates cfg and returns an adapter; the error names every field at fault.
func New(cfg Config) (*Adapter, error) {
	if cfg.Version == "" {
		cfg.Version = DefaultVersion
	}
	base, err := vendorhttp.BaseURL("linkedin: BaseURL", cfg.BaseURL)
	err = errors.Join(err,
		vendorhttp.Required("linkedin: SegmentID", cfg.SegmentID))
	if cfg.Tokens == nil {
		err = errors.Join(err, vendorhttp.Required("linkedin: AccessToken", cfg.AccessToken))
	}
	sunset, ok := Sunset(cfg.Version)
	if !ok {
		err = errors.Join(err, errors.New("linkedin: Version must be YYYYMM"))
	}
	if !cfg.VersionSunset.IsZero() {
		sunset = cfg.VersionSunset.UTC()
	}
	if err != nil {
		return nil, err
	}
	if cfg.Tokens == nil {
		cfg.Tokens = oauth.Static(cfg.AccessToken)
	}
	return &Adapter{
		usersURL: base + "/rest/dmpSegments/" + url.PathEscape(cfg.SegmentID) + "/users",
		version:  cfg.Version,
		sunset:   sunset,
		client:   vendorhttp.NewTokenClient(cfg.HTTP, cfg.Now, cfg.Tokens),
	}, nil
}

// Supports reports OptOut and DeleteUser, both a removal from the segment.
func (a *Adapter) Supports(action vendor.Action) bool {
	return action == vendor.OptOut || action == vendor.DeleteUser
}

// APIVersion reports the LinkedIn-Version sent and when LinkedIn stops serving it, for
// consentry_vendor_api_version_sunset_seconds.
func (a *Adapter) APIVersion() (string, time.Time) { return a.version, a.sunset }

// Deliver removes the subject from the segment. LinkedIn answers 201 for an element
// that removes an id no longer in the segment, "by design" (docs/vendors/linkedin.md),
// so a repeat is safe but cannot be told apart as "already done".
func (a *Adapter) Deliver(ctx context.Context, req vendor.Request) (vendor.Result, error) {
	outs, err := a.DeliverBatch(ctx, []vendor.Request{req})
	if err != nil {
		return vendor.Result{}, err
	}
	return outs[0].Result, outs[0].Err
}

// MaxBatch is unbounded for removals: LinkedIn's BATCH_CREATE takes "multiple users"
// but the docs read state no maximum (docs/vendors/linkedin.md, "Batching"), so
// routing's max_batch alone bounds a call.
func (a *Adapter) MaxBatch(action vendor.Action) int {
	if a.Supports(action) {
		return math.MaxInt
	}
	return 0
}

// DeliverBatch removes every subject from the segment in one BATCH_CREATE, one element
// each; the element's own status decides its delivery.
func (a *Adapter) DeliverBatch(ctx context.Context, reqs []vendor.Request) ([]vendor.ItemOutcome, error) {
	outs := make([]vendor.ItemOutcome, len(reqs))
	var elements []any
	var sent []int // index in reqs of each element
	for i, req := range reqs {
		switch {
		case !a.Supports(req.Action):
			outs[i].Err = vendorhttp.Unsupported(req.Action)
		case strings.TrimSpace(req.IDs.Email) == "":
			outs[i].Result = vendorhttp.Skipped("email")
		default:
			elements = append(elements, map[string]any{
				"action":  "REMOVE",
				"userIds": []any{map[string]string{"idType": "SHA256_EMAIL", "idValue": HashEmail(req.IDs.Email)}},
			})
			sent = append(sent, i)
		}
	}
	if len(elements) == 0 {
		return outs, nil
	}
	key := reqs[sent[0]].IdempotencyKey
	if len(sent) > 1 {
		key = batchKey(reqs, sent)
	}
	resp, err := a.client.Do(ctx, vendorhttp.Request{
		Method: http.MethodPost,
		URL:    a.usersURL,
		Body:   map[string]any{"elements": elements},
		Header: http.Header{
			"X-Restli-Method":           {"BATCH_CREATE"},
			"X-Restli-Protocol-Version": {"2.0.0"},
			"Linkedin-Version":          {a.version},
		},
		IdempotencyKey: key,
	})
	if err != nil {
		return nil, err
	}
	if !resp.OK() {
		var e struct {
			Code string `json:"code"`
		}
		_ = resp.Decode(&e) // an unreadable error body leaves the status to speak
		ve := resp.Error(e.Code, a.client.Now())
		if resp.StatusCode == http.StatusUpgradeRequired || e.Code == "NONEXISTENT_VERSION" {
			// A retired version fails every call alike: say which one, so the dead letter
			// points at the configuration rather than at the subject.
			ve.Kind = vendor.Permanent
			ve.Msg = fmt.Sprintf("%s: LinkedIn-Version %s is not served (sunset %s); configure a current version",
				ve.Msg, a.version, a.sunset.Format(time.DateOnly))
		} else if ve.Kind == vendor.Permanent && len(sent) > 1 {
			// A 400 for the whole call blames no element the client can read reliably.
			ve.Whole = true
		}
		return nil, ve
	}
	statuses, err := a.elements(resp, len(sent))
	if err != nil {
		return nil, err
	}
	for k, i := range sent {
		outs[i] = statuses[k]
	}
	return outs, nil
}

// elements reads BATCH_CREATE's answer: HTTP 200 with one status per element sent
// (docs/vendors/linkedin.md). The call succeeding says nothing of each removal, so
// each element's own status decides its delivery.
func (a *Adapter) elements(resp *vendorhttp.Response, sent int) ([]vendor.ItemOutcome, error) {
	var batch struct {
		Elements []struct {
			Status int `json:"status"`
		} `json:"elements"`
	}
	if err := resp.Decode(&batch); err != nil {
		return nil, err
	}
	if len(batch.Elements) != sent {
		return nil, &vendor.Error{Kind: vendor.Transient, HTTPStatus: resp.StatusCode,
			Msg: fmt.Sprintf("answer holds %d element statuses for %d elements sent", len(batch.Elements), sent)}
	}
	outs := make([]vendor.ItemOutcome, sent)
	for k, el := range batch.Elements {
		switch {
		case el.Status >= 200 && el.Status < 300:
			outs[k].Result = vendor.Result{Outcome: vendor.Delivered, HTTPStatus: resp.StatusCode}
			continue
		case el.Status == 0:
			outs[k].Err = &vendor.Error{Kind: vendor.Transient, HTTPStatus: resp.StatusCode, Msg: "an element answer holds no status"}
			continue
		}
		e := vendor.FromResponse(&http.Response{StatusCode: el.Status, Header: http.Header{}}, fmt.Sprintf("element status %d", el.Status), a.client.Now())
		// The call itself succeeded: what the element says is about this removal, and a
		// rejected credential would have failed the whole call.
		if e.Kind == vendor.Auth {
			e.Kind = vendor.Permanent
		}
		outs[k].Err = e
	}
	return outs, nil
}

// batchKey is a batch call's Idempotency-Key: a digest of its deliveries' keys, the
// same when the same batch is retried. LinkedIn documents no such header; each
// delivery's key stays its own in its receipt.
func batchKey(reqs []vendor.Request, sent []int) string {
	h := sha256.New()
	for _, i := range sent {
		h.Write([]byte(reqs[i].IdempotencyKey))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// HashEmail is LinkedIn's SHA256_EMAIL: lowercase hex SHA-256 of the trimmed,
// lower-cased address — the same normalisation as Consentry's suppression key. An
// unnormalised hash matches no member, silently.
func HashEmail(email string) string { return pseudonym.EmailSHA256(email) }
