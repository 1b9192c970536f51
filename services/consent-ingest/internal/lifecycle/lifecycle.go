// Package lifecycle is the front half of a privacy request's life: which status a new or
// verified request moves to, what events each move publishes, its legal deadline and its
// extension. It does no I/O (docs/privacy-requests.md).
package lifecycle

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/consentry/consentry/platform/deadline"
	"github.com/consentry/consentry/platform/eventid"
	"github.com/consentry/consentry/schemas"
)

// ConsumerTenant is the tenant whose data the company controls itself; every other tenant
// is an enterprise Customer, the controller of its users' data (docs/architecture.md, Vocabulary).
const ConsumerTenant = "consumer"

// Submitter is what the key that submitted a request vouches for.
type Submitter struct {
	// AssertsVerified: the product verified the person and its key may say so.
	AssertsVerified bool
	// Controller: the key is the tenant's own Customer credential.
	Controller bool
}

// AfterSubmission is the status a request moves to right after received. A Customer's
// own submission runs at once: the controller verified its user and instructs us.
func AfterSubmission(tenant string, s Submitter) string {
	switch {
	case tenant != ConsumerTenant && s.Controller:
		return schemas.StatusInProgress
	case !s.AssertsVerified:
		return schemas.StatusVerifying
	default:
		return AfterVerification(tenant)
	}
}

// AfterVerification is where a verified request goes: to work for a consumer-tenant
// request, to the Customer for an enterprise one, which must instruct us (GDPR Art. 28(3)(a)).
func AfterVerification(tenant string) string {
	if tenant == ConsumerTenant {
		return schemas.StatusInProgress
	}
	return schemas.StatusForwardedToController
}

// Open reports whether a request in status can still change.
func Open(status string) bool {
	return status != schemas.StatusCompleted && status != schemas.StatusPartiallyCompleted && status != schemas.StatusRejected
}

// Request is a privacy request as consent-ingest keeps it.
type Request struct {
	ID, Tenant, SubjectKey        string
	Type, Reason, Scope           string
	Jurisdiction, PolicyVersion   string
	Status                        string
	Sealed                        *schemas.Sealed
	OccurredAt, ReceivedAt        time.Time
	DeadlineAt                    *time.Time
	Extended                      bool
	VerifyExpiresAt               time.Time
	Published, NotificationQueued bool
	// Announced: the received event is on Kafka; Published: so are the last move's.
	Announced bool
	// Detail is why the last move happened; UpdatedAt when it was stored.
	Detail    string
	UpdatedAt time.Time
}

// Event is the status event of r moving to status at at. Its id is derived from the
// request and the move, so a re-publish after a crash is the same event to every consumer.
func (r Request) Event(status, detail string, at time.Time) (*schemas.PrivacyRequest, error) {
	label := "status/" + status
	if r.Extended && IsExtension(detail) {
		label = "status/" + status + "/extended"
	}
	id := r.ID
	if status != schemas.StatusReceived {
		var err error
		if id, err = eventid.Derive(r.ID, label); err != nil {
			return nil, err
		}
	}
	occurred := at
	if status == schemas.StatusReceived {
		occurred = r.OccurredAt
	}
	return &schemas.PrivacyRequest{
		Header: schemas.Header{EventID: id, Tenant: r.Tenant, SubjectKey: r.SubjectKey, OccurredAt: occurred,
			RecordedAt: at, Source: sourceOf(status), PolicyVersion: r.PolicyVersion, Identifiers: r.Sealed},
		RequestID: r.ID, Type: r.Type, Reason: r.Reason, Status: status, DeadlineAt: r.DeadlineAt, Detail: detail,
		Jurisdiction: r.Jurisdiction, Scope: r.Scope,
	}, nil
}

// sourceOf: the first event is the submitter's; later moves are Consentry's own.
func sourceOf(status string) string {
	if status == schemas.StatusReceived {
		return schemas.SourceAPI
	}
	return schemas.SourceConsentry
}

const extensionPrefix = schemas.ExtensionDetail + " "

// IsExtension reports whether detail is that of an extension: a move of the deadline, not
// of the status.
func IsExtension(detail string) bool { return strings.HasPrefix(detail, extensionPrefix) }

// DirectMarketing are the purposes an objection to direct marketing denies (GDPR Art. 21(3)).
var DirectMarketing = []string{schemas.PurposeMarketingEmail, schemas.PurposeSalesOutreach}

// FollowUps are the events that go with r starting work: an objection's denials, and for
// a child's request the account termination the product must carry out. liPurposes are
// the tenant's purposes based on legitimate interest.
func (r Request) FollowUps(at time.Time, liPurposes []string) ([]schemas.Event, error) {
	var out []schemas.Event
	if r.Type == schemas.RequestObjection {
		purposes := DirectMarketing
		if r.Scope == schemas.ScopeLegitimateInterest {
			purposes = liPurposes
		}
		if len(purposes) > 0 {
			id, err := eventid.Derive(r.ID, "objection/consent")
			if err != nil {
				return nil, err
			}
			denied := make(map[string]string, len(purposes))
			for _, p := range purposes {
				denied[p] = schemas.Denied
			}
			out = append(out, &schemas.ConsentChanged{Header: schemas.Header{EventID: id, Tenant: r.Tenant,
				SubjectKey: r.SubjectKey, OccurredAt: at, RecordedAt: at, Source: schemas.SourceAPI, PolicyVersion: r.PolicyVersion,
				Identifiers: r.Sealed}, Purposes: denied})
		}
	}
	if r.Reason == schemas.ReasonChildUnder16 {
		id, err := eventid.Derive(r.ID, "account_termination")
		if err != nil {
			return nil, err
		}
		out = append(out, &schemas.PrivacyRequest{Header: schemas.Header{EventID: id, Tenant: r.Tenant,
			SubjectKey: r.SubjectKey, OccurredAt: at, RecordedAt: at, Source: schemas.SourceConsentry, PolicyVersion: r.PolicyVersion,
			Identifiers: r.Sealed}, RequestID: id, Type: schemas.RequestAccountTermination, Reason: r.Reason, Status: schemas.StatusInProgress,
			DeadlineAt: r.DeadlineAt, Jurisdiction: r.Jurisdiction, Detail: "account of a child under 16 to close; request " + r.ID})
	}
	return out, nil
}

// Deadline is when a request of typ received at received under jurisdiction must be
// answered, or nil where the law sets no limit.
func Deadline(jurisdiction, typ string, received time.Time, loc *time.Location) (*time.Time, error) {
	rule, err := deadline.For(deadline.Regime(jurisdiction), deadline.Kind(typ))
	if errors.Is(err, deadline.ErrNoRule) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	due := rule.Due(received, loc).UTC()
	return &due, nil
}

// ErrNotExtendable means the law allows no extension, or it was already used.
var ErrNotExtendable = errors.New("this request's deadline cannot be extended")

// Extend returns r with its deadline moved to the latest the law allows and the detail
// of the event that records it. The law allows one extension, with a reason given to the
// person (GDPR Art. 12(3), CCPA §1798.130(a)(2)).
func (r Request) Extend(reason string, loc *time.Location) (Request, string, error) {
	if !Open(r.Status) {
		return r, "", fmt.Errorf("%w: it is %s", ErrNotExtendable, r.Status)
	}
	if r.Extended {
		return r, "", fmt.Errorf("%w: it was extended already", ErrNotExtendable)
	}
	rule, err := deadline.For(deadline.Regime(r.Jurisdiction), deadline.Kind(r.Type))
	if err != nil || !rule.Extendable() {
		return r, "", fmt.Errorf("%w under %s", ErrNotExtendable, r.Jurisdiction)
	}
	latest := rule.Latest(r.ReceivedAt, loc).UTC()
	r.DeadlineAt, r.Extended = &latest, true
	return r, extensionPrefix + reason, nil
}
