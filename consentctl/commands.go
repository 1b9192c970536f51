package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/consentry/consentry/platform/pseudonym"
	"github.com/consentry/consentry/schemas"
)

// repeated is a flag that may be given more than once.
type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, ",") }
func (r *repeated) Set(v string) error { *r = append(*r, v); return nil }

// readBody reads a JSON document from a file, or from stdin when path is "-".
func (e *env) readBody(path string) ([]byte, error) {
	var (
		b   []byte
		err error
	)
	if path == "-" {
		b, err = io.ReadAll(e.stdin)
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, err
	}
	if !json.Valid(b) {
		return nil, fmt.Errorf("%s is not JSON", path)
	}
	return b, nil
}

// subjectFlags are the fields a consent and a request share, for building one from flags.
type subjectFlags struct {
	file, tenant, subject, email, anonymousID, source, policyVersion, occurredAt, idempotencyKey string
	vendorIDs                                                                                    repeated
}

func (s *subjectFlags) register(fs *flag.FlagSet, defaultSource string) {
	fs.StringVar(&s.file, "file", "", `send this JSON document as it is ("-" reads stdin); the other fields are then ignored`)
	fs.StringVar(&s.tenant, "tenant", "consumer", "tenant: consumer or an enterprise Customer's id")
	fs.StringVar(&s.subject, "subject", "", "the product's subject_id")
	fs.StringVar(&s.email, "email", "", "the subject's email address")
	fs.StringVar(&s.anonymousID, "anonymous-id", "", "the subject's anonymous id")
	fs.Var(&s.vendorIDs, "vendor-id", "vendor=id, the subject's id at a vendor (repeatable)")
	fs.StringVar(&s.source, "source", defaultSource, "where the decision came from (cmp, api, support, ...)")
	fs.StringVar(&s.policyVersion, "policy-version", "", "the privacy policy version in force")
	fs.StringVar(&s.occurredAt, "occurred-at", "", "when it happened (RFC 3339; default now)")
	fs.StringVar(&s.idempotencyKey, "idempotency-key", "", "makes a retry of the same send safe")
}

// body builds the JSON document common to consents and requests.
func (s *subjectFlags) body() (map[string]any, error) {
	if s.subject == "" {
		return nil, usageError("--subject (or --file) is required")
	}
	m := map[string]any{"tenant": s.tenant, "subject_id": s.subject}
	ids := map[string]any{}
	if s.email != "" {
		ids["email"] = s.email
	}
	if s.anonymousID != "" {
		ids["anonymous_id"] = s.anonymousID
	}
	if len(s.vendorIDs) > 0 {
		vendors := map[string]string{}
		for _, v := range s.vendorIDs {
			name, id, ok := strings.Cut(v, "=")
			if !ok || name == "" || id == "" {
				return nil, usageError("--vendor-id wants vendor=id")
			}
			vendors[name] = id
		}
		ids["vendor_ids"] = vendors
	}
	if len(ids) > 0 {
		m["identifiers"] = ids
	}
	if s.source != "" {
		m["source"] = s.source
	}
	if s.policyVersion != "" {
		m["policy_version"] = s.policyVersion
	}
	if s.occurredAt != "" {
		if _, err := time.Parse(time.RFC3339Nano, s.occurredAt); err != nil {
			return nil, usageError("--occurred-at wants RFC 3339, e.g. 2026-11-28T21:04:05Z")
		}
		m["occurred_at"] = s.occurredAt
	}
	return m, nil
}

func consentSend(fs *flag.FlagSet) func(*env, []string) error {
	var s subjectFlags
	s.register(fs, "api")
	var purposes repeated
	fs.Var(&purposes, "purpose", "purpose=granted|denied (repeatable): analytics, advertising, personalization, marketing_email, sales_outreach, sale_share")
	return func(e *env, args []string) error {
		if len(args) > 0 {
			return usageError("unexpected argument %q", args[0])
		}
		body, err := s.document(e, func(m map[string]any) error {
			if len(purposes) == 0 {
				return usageError("at least one --purpose is required")
			}
			p := map[string]string{}
			for _, v := range purposes {
				name, decision, ok := strings.Cut(v, "=")
				if !ok || name == "" || decision == "" {
					return usageError("--purpose wants purpose=granted or purpose=denied")
				}
				p[name] = decision
			}
			m["purposes"] = p
			if _, ok := m["occurred_at"]; !ok {
				m["occurred_at"] = time.Now().UTC().Format(time.RFC3339Nano)
			}
			return nil
		})
		if err != nil {
			return err
		}
		return e.send("POST", e.opts.ingestURL, "/v1/consents", "/v1/consents", body, "Idempotency-Key", s.idempotencyKey)
	}
}

func requestSend(fs *flag.FlagSet) func(*env, []string) error {
	var s subjectFlags
	s.register(fs, "")
	typ := fs.String("type", "", strings.Join(schemas.RequestTypes, ", "))
	reason := fs.String("reason", schemas.ReasonUserRequest, strings.Join(schemas.RequestReasons, ", ")+", ...")
	scope := fs.String("scope", "", "objection: direct_marketing or legitimate_interest; restriction: apply or lift")
	verified := fs.Bool("verified", false, "the product already verified the person (the key needs the verify permission)")
	return func(e *env, args []string) error {
		if len(args) > 0 {
			return usageError("unexpected argument %q", args[0])
		}
		body, err := s.document(e, func(m map[string]any) error {
			if *typ == "" {
				return usageError("--type is required")
			}
			m["type"], m["reason"] = *typ, *reason
			if *scope != "" {
				m["scope"] = *scope
			}
			if *verified {
				m["verified"] = true
			}
			return nil
		})
		if err != nil {
			return err
		}
		return e.send("POST", e.opts.ingestURL, "/v1/privacy-requests", "/v1/privacy-requests", body, "Idempotency-Key", s.idempotencyKey)
	}
}

// document is the body to send: the --file as it is, or one built from the flags.
func (s *subjectFlags) document(e *env, complete func(map[string]any) error) ([]byte, error) {
	if s.file != "" {
		return e.readBody(s.file)
	}
	m, err := s.body()
	if err != nil {
		return nil, err
	}
	if err := complete(m); err != nil {
		return nil, err
	}
	return json.Marshal(m)
}

// send calls the API and prints its answer.
func (e *env) send(method, base, route, path string, body []byte, headers ...string) error {
	raw, err := e.call(method, base, route, path, body, headers...)
	if err != nil {
		return err
	}
	return e.print(raw)
}

// get is send for a GET without a body.
func (e *env) get(base, route, path string) error { return e.send("GET", base, route, path, nil) }

func oneArg(args []string, name string) (string, error) {
	if len(args) != 1 || args[0] == "" {
		return "", usageError("want exactly one argument, the %s", name)
	}
	return args[0], nil
}

func query(pairs ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] != "" {
			v.Set(pairs[i], pairs[i+1])
		}
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

func requestStatus(fs *flag.FlagSet) func(*env, []string) error {
	return func(e *env, args []string) error {
		id, err := oneArg(args, "request id")
		if err != nil {
			return err
		}
		return e.get(e.opts.auditURL, "/v1/privacy-requests/{id}", "/v1/privacy-requests/"+url.PathEscape(id))
	}
}

func requestList(fs *flag.FlagSet) func(*env, []string) error {
	status := fs.String("status", "", "at_risk, overdue, or a lifecycle status (received, verifying, in_progress, completed, ...)")
	tenant := fs.String("tenant", "", "only this tenant's requests")
	limit := fs.Int("limit", 0, "at most this many (the API's default when 0)")
	after := fs.String("after", "", "the next_after of the previous page")
	return func(e *env, args []string) error {
		if len(args) > 0 {
			return usageError("unexpected argument %q", args[0])
		}
		return e.get(e.opts.auditURL, "/v1/privacy-requests", "/v1/privacy-requests"+query("status", *status, "tenant", *tenant, "limit", limitString(*limit), "after", *after))
	}
}

func limitString(n int) string {
	if n <= 0 {
		return ""
	}
	return strconv.Itoa(n)
}

func subjectPath(args []string, what string) (string, error) {
	if len(args) != 2 || args[0] == "" || args[1] == "" {
		return "", usageError("want two arguments, the tenant and the subject_id")
	}
	return "/v1/subjects/" + url.PathEscape(args[0]) + "/" + url.PathEscape(args[1]) + "/" + what, nil
}

func subjectHistory(fs *flag.FlagSet) func(*env, []string) error {
	return func(e *env, args []string) error {
		path, err := subjectPath(args, "history")
		if err != nil {
			return err
		}
		return e.get(e.opts.auditURL, "/v1/subjects/{tenant}/{subject_id}/history", path)
	}
}

func subjectProof(fs *flag.FlagSet) func(*env, []string) error {
	return func(e *env, args []string) error {
		path, err := subjectPath(args, "consent")
		if err != nil {
			return err
		}
		return e.get(e.opts.auditURL, "/v1/subjects/{tenant}/{subject_id}/consent", path)
	}
}

func deadLettersList(fs *flag.FlagSet) func(*env, []string) error {
	vendor := fs.String("vendor", "", "only this vendor's")
	limit := fs.Int("limit", 0, "at most this many, 1-1000 (default 100)")
	return func(e *env, args []string) error {
		if len(args) > 0 {
			return usageError("unexpected argument %q", args[0])
		}
		return e.get(e.opts.fanoutURL, "/v1/dead-letters", "/v1/dead-letters"+query("vendor", *vendor, "limit", limitString(*limit)))
	}
}

func deadLettersReplay(fs *flag.FlagSet) func(*env, []string) error {
	vendor := fs.String("vendor", "", "with --all: the vendor whose dead letters to replay")
	all := fs.Bool("all", false, "replay every dead letter of --vendor")
	return func(e *env, args []string) error {
		switch {
		case *all && *vendor != "" && len(args) == 0:
			return e.send("POST", e.opts.fanoutURL, "/v1/vendors/{name}/replay-dead-letters", "/v1/vendors/"+url.PathEscape(*vendor)+"/replay-dead-letters", nil)
		case !*all && *vendor == "" && len(args) == 1:
			if _, err := strconv.ParseInt(args[0], 10, 64); err != nil {
				return usageError("a dead letter's id is a number")
			}
			return e.send("POST", e.opts.fanoutURL, "/v1/dead-letters/{id}/replay", "/v1/dead-letters/"+args[0]+"/replay", nil)
		default:
			return usageError("give one dead letter's id, or --vendor V --all")
		}
	}
}

func tasksList(fs *flag.FlagSet) func(*env, []string) error {
	status := fs.String("status", "", "open, completed or overdue (default: all)")
	vendor := fs.String("vendor", "", "only this vendor's")
	limit := fs.Int("limit", 0, "at most this many, 1-1000 (default 100)")
	return func(e *env, args []string) error {
		if len(args) > 0 {
			return usageError("unexpected argument %q", args[0])
		}
		return e.get(e.opts.fanoutURL, "/v1/manual-tasks", "/v1/manual-tasks"+query("status", *status, "vendor", *vendor, "limit", limitString(*limit)))
	}
}

func tasksComplete(fs *flag.FlagSet) func(*env, []string) error {
	by := fs.String("by", "", "who did it (required)")
	note := fs.String("note", "", "what was done; must not name the person")
	return func(e *env, args []string) error {
		id, err := oneArg(args, "task id")
		if err != nil {
			return err
		}
		if _, err := strconv.ParseInt(id, 10, 64); err != nil {
			return usageError("a task's id is a number")
		}
		if *by == "" {
			return usageError("--by is required")
		}
		body, _ := json.Marshal(map[string]string{"completed_by": *by, "note": *note})
		return e.send("POST", e.opts.fanoutURL, "/v1/manual-tasks/{id}/complete", "/v1/manual-tasks/"+id+"/complete", body)
	}
}

func vendorsList(fs *flag.FlagSet) func(*env, []string) error {
	return func(e *env, args []string) error {
		if len(args) > 0 {
			return usageError("unexpected argument %q", args[0])
		}
		return e.get(e.opts.fanoutURL, "/v1/vendors", "/v1/vendors")
	}
}

func backfill(fs *flag.FlagSet) func(*env, []string) error {
	var tenants repeated
	fs.Var(&tenants, "tenant", "only this tenant (repeatable; default every tenant the vendor serves)")
	return func(e *env, args []string) error {
		vendor, err := oneArg(args, "vendor")
		if err != nil {
			return err
		}
		var body []byte
		if len(tenants) > 0 {
			body, _ = json.Marshal(map[string][]string{"tenants": tenants})
		}
		return e.send("POST", e.opts.fanoutURL, "/v1/vendors/{name}/backfill", "/v1/vendors/"+url.PathEscape(vendor)+"/backfill", body)
	}
}

func auditVerify(fs *flag.FlagSet) func(*env, []string) error {
	return func(e *env, args []string) error {
		if len(args) > 0 {
			return usageError("unexpected argument %q", args[0])
		}
		raw, err := e.call("GET", e.opts.auditURL, "/v1/audit/verify", "/v1/audit/verify", nil)
		if err != nil {
			return err
		}
		if err := e.print(raw); err != nil {
			return err
		}
		var report struct {
			OK *bool `json:"ok"`
		}
		if err := json.Unmarshal(raw, &report); err != nil || report.OK == nil {
			return fmt.Errorf("the answer has no verdict (%q)", "ok")
		}
		if !*report.OK {
			return fmt.Errorf("the audit log does not verify: see the first break of each chain above")
		}
		return nil
	}
}

func auditHeads(fs *flag.FlagSet) func(*env, []string) error {
	return func(e *env, args []string) error {
		if len(args) > 0 {
			return usageError("unexpected argument %q", args[0])
		}
		return e.get(e.opts.auditURL, "/v1/audit/heads", "/v1/audit/heads")
	}
}

func suppression(fs *flag.FlagSet) func(*env, []string) error {
	return func(e *env, args []string) error {
		addr, err := oneArg(args, "email address (or its SHA-256)")
		if err != nil {
			return err
		}
		// Hashed here so that the address itself never travels in a URL or an access log.
		hash := addr
		if strings.Contains(addr, "@") {
			hash = pseudonym.EmailSHA256(addr)
		}
		return e.get(e.opts.unsubscribeURL, "/v1/suppressions/{email_sha256}", "/v1/suppressions/"+url.PathEscape(hash))
	}
}
