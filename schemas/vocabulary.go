package schemas

// The words of the contract: the values the events' string fields take. Each is defined
// here once and used by name, so that renaming one is a compile error, not a silent
// mismatch between services. The .avsc docs list the same words.

// Request types (PrivacyRequest.type).
const (
	RequestErasure       = "erasure"
	RequestAccess        = "access"
	RequestRectification = "rectification"
	RequestRestriction   = "restriction"
	RequestPortability   = "portability"
	RequestObjection     = "objection"
	// RequestAccountTermination is emitted by Consentry for the product to act on; no
	// one submits it.
	RequestAccountTermination = "account_termination"
)

// RequestTypes are the types a privacy request may be submitted with.
var RequestTypes = []string{RequestErasure, RequestAccess, RequestRectification, RequestRestriction,
	RequestPortability, RequestObjection}

// Reasons a privacy request gives (PrivacyRequest.reason).
const (
	ReasonUserRequest    = "user_request"
	ReasonChildUnder16   = "child_under_16"
	ReasonAccountClosure = "account_closure"
)

// RequestReasons are the reasons a privacy request may be submitted with.
var RequestReasons = []string{ReasonUserRequest, ReasonChildUnder16, ReasonAccountClosure}

// Scopes narrow a request type (PrivacyRequest.scope): what an objection objects to,
// whether a restriction is applied or lifted.
const (
	ScopeDirectMarketing    = "direct_marketing"
	ScopeLegitimateInterest = "legitimate_interest"
	ScopeApply              = "apply"
	ScopeLift               = "lift"
)

// Statuses of a privacy request (PrivacyRequest.status, docs/privacy-requests.md).
// Completed and partially_completed are vendor-fanout's to announce.
const (
	StatusReceived              = "received"
	StatusVerifying             = "verifying"
	StatusForwardedToController = "forwarded_to_controller"
	StatusInProgress            = "in_progress"
	StatusCompleted             = "completed"
	StatusPartiallyCompleted    = "partially_completed"
	StatusRejected              = "rejected"
)

// Statuses lists a request's lifecycle in order.
var Statuses = []string{StatusReceived, StatusVerifying, StatusForwardedToController, StatusInProgress,
	StatusCompleted, StatusPartiallyCompleted, StatusRejected}

// Purposes (ConsentChanged.purposes[].purpose).
const (
	PurposeEssential       = "essential"
	PurposeAnalytics       = "analytics"
	PurposeAdvertising     = "advertising"
	PurposePersonalization = "personalization"
	PurposeMarketingEmail  = "marketing_email"
	PurposeSalesOutreach   = "sales_outreach"
	PurposeSaleShare       = "sale_share"
)

// Purposes are every purpose a consent may name.
var Purposes = []string{PurposeEssential, PurposeAnalytics, PurposeAdvertising, PurposePersonalization,
	PurposeMarketingEmail, PurposeSalesOutreach, PurposeSaleShare}

// Decisions of a purpose (ConsentChanged.purposes[].decision).
const (
	Granted = "granted"
	Denied  = "denied"
)

// Sources (Header.source): where a consent or request came from.
const (
	SourceCMP              = "cmp"
	SourcePreferenceCenter = "preference_center"
	SourceEmailLink        = "email_link"
	SourceAPI              = "api"
	SourceSupport          = "support"
	SourceGPC              = "gpc"
	SourceDNT              = "dnt"
	SourceImport           = "import"
	// SourceConsentry marks the events Consentry emits itself (a request's completion,
	// an account termination), which no one submitted.
	SourceConsentry = "consentry"
	// SourceVendorFanout marks vendor receipts.
	SourceVendorFanout = "vendor-fanout"
)

// Sources are the sources a consent or request may be submitted with.
var Sources = []string{SourceCMP, SourcePreferenceCenter, SourceEmailLink, SourceAPI, SourceSupport,
	SourceGPC, SourceDNT, SourceImport}

// Vendor actions (VendorReceipt.action): what one event means for one vendor.
const (
	ActionDeleteUser    = "delete_user"
	ActionOptOut        = "opt_out"
	ActionSuppressEmail = "suppress_email"
	ActionRestrict      = "restrict"
	ActionUpdateConsent = "update_consent"
	// ActionLiftRestriction ends a restriction: processing may resume.
	ActionLiftRestriction = "lift_restriction"
	// ActionRectify corrects the identifiers a vendor holds for the subject.
	ActionRectify = "rectify"
)
