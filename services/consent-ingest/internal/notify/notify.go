// Package notify posts the two webhooks of a privacy request's front half, signed with
// the deployment's webhook secret: the verification link to the sender that emails it,
// and a Customer's user's request to the Customer (docs/privacy-requests.md).
package notify

import (
	"context"
	"encoding/json"
	"time"

	"github.com/consentry/consentry/platform/webhooksig"
)

// timeout bounds one post: a receiver that hangs must not hold up the other requests'
// notifications, which the next round retries anyway.
const timeout = 10 * time.Second

// Client posts signed JSON to a receiver.
type Client struct {
	Sender webhooksig.Sender
}

// Link is what the verification sender needs to email the person their link. The
// sender is the one party besides vendors that must see the address (docs/architecture.md, guarantee 5).
type Link struct {
	RequestID   string    `json:"request_id"`
	Tenant      string    `json:"tenant"`
	RequestType string    `json:"request_type"`
	SubjectID   string    `json:"subject_id"`
	Email       string    `json:"email"`
	ExpiresAt   time.Time `json:"expires_at"`
	VerifyURL   string    `json:"verify_url"`
}

// Forward tells a Customer, the controller, that one of its users asked: it answers
// through ApproveURL or RejectURL with its own key.
type Forward struct {
	RequestID    string     `json:"request_id"`
	Tenant       string     `json:"tenant"`
	Type         string     `json:"type"`
	Reason       string     `json:"reason"`
	Scope        string     `json:"scope"`
	Jurisdiction string     `json:"jurisdiction"`
	ReceivedAt   time.Time  `json:"received_at"`
	DeadlineAt   *time.Time `json:"deadline_at,omitempty"`
	SubjectID    string     `json:"subject_id"`
	Email        string     `json:"email"`
	ApproveURL   string     `json:"approve_url"`
	RejectURL    string     `json:"reject_url"`
}

// SendLink posts l to the verification sender at url.
func (c Client) SendLink(ctx context.Context, url string, l Link) error {
	return c.post(ctx, url, struct {
		Kind string `json:"kind"`
		Link
	}{"privacy_request_verification", l})
}

// SendForward posts f to the Customer's webhook at url.
func (c Client) SendForward(ctx context.Context, url string, f Forward) error {
	return c.post(ctx, url, struct {
		Kind string `json:"kind"`
		Forward
	}{"privacy_request_forwarded", f})
}

func (c Client) post(ctx context.Context, url string, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return c.Sender.Post(ctx, url, b)
}
