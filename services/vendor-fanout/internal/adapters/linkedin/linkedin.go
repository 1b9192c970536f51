// Package linkedin removes a subject's hashed email from a Matched Audiences (DMP)
// segment, the only suppression LinkedIn offers advertisers (docs/vendors/linkedin.md). Erasure
// of what LinkedIn itself holds has no API; the core raises a manual task for it.
package linkedin

import (
	"context"
	"errors"
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

var _ vendor.Adapter = (*Adapter)(nil)

var versionRE = regexp.MustCompile(`^\d{4}(0[1-9]|1[0-2])$`)

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
	// Version is the LinkedIn-Version header, YYYYMM; default "202511".
	Version string
	// HTTP is the client to use; nil means one with a 10 s timeout.
	HTTP *http.Client
	// Now is the clock for Retry-After arithmetic; nil means time.Now.
	Now func() time.Time
}

// Adapter is the LinkedIn adapter.
type Adapter struct {
	usersURL string
	version  string
	client   *vendorhttp.Client
}

// New validates cfg and returns an adapter; the error names every field at fault.
func New(cfg Config) (*Adapter, error) {
	if cfg.Version == "" {
		cfg.Version = "202511"
	}
	base, err := vendorhttp.BaseURL("linkedin: BaseURL", cfg.BaseURL)
	err = errors.Join(err,
		vendorhttp.Required("linkedin: SegmentID", cfg.SegmentID))
	if cfg.Tokens == nil {
		err = errors.Join(err, vendorhttp.Required("linkedin: AccessToken", cfg.AccessToken))
	}
	if !versionRE.MatchString(cfg.Version) {
		err = errors.Join(err, errors.New("linkedin: Version must be YYYYMM"))
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
		client:   vendorhttp.NewTokenClient(cfg.HTTP, cfg.Now, cfg.Tokens),
	}, nil
}

// Supports reports OptOut and DeleteUser, both a removal from the segment.
func (a *Adapter) Supports(action vendor.Action) bool {
	return action == vendor.OptOut || action == vendor.DeleteUser
}

// Deliver removes the subject from the segment. LinkedIn does not document what
// removing a non-member does, so there is no "already done" reply.
func (a *Adapter) Deliver(ctx context.Context, req vendor.Request) (vendor.Result, error) {
	if !a.Supports(req.Action) {
		return vendor.Result{}, vendorhttp.Unsupported(req.Action)
	}
	if strings.TrimSpace(req.IDs.Email) == "" {
		return vendorhttp.Skipped("email"), nil
	}
	body := map[string]any{"elements": []any{map[string]any{
		"action":  "REMOVE",
		"userIds": []any{map[string]string{"idType": "SHA256_EMAIL", "idValue": HashEmail(req.IDs.Email)}},
	}}}
	resp, err := a.client.Do(ctx, vendorhttp.Request{
		Method: http.MethodPost,
		URL:    a.usersURL,
		Body:   body,
		Header: http.Header{
			"X-Restli-Method":           {"BATCH_CREATE"},
			"X-Restli-Protocol-Version": {"2.0.0"},
			"Linkedin-Version":          {a.version},
		},
		IdempotencyKey: req.IdempotencyKey,
	})
	if err != nil {
		return vendor.Result{}, err
	}
	if !resp.OK() {
		var e struct {
			Code string `json:"code"`
		}
		_ = resp.Decode(&e) // an unreadable error body leaves the status to speak
		return vendor.Result{}, resp.Error(e.Code, a.client.Now())
	}
	return vendor.Result{Outcome: vendor.Delivered, HTTPStatus: resp.StatusCode}, nil
}

// HashEmail is LinkedIn's SHA256_EMAIL: lowercase hex SHA-256 of the trimmed,
// lower-cased address — the same normalisation as Consentry's suppression key. An
// unnormalised hash matches no member, silently.
func HashEmail(email string) string { return pseudonym.EmailSHA256(email) }
