//! Who may do what: every REST route that needs a login, tried by each kind of caller, cell by cell,
//! with the exact status and error code of each answer and proof that a refusal changes nothing. A
//! second table reaches every other status the API document lists, so each documented status of each
//! route is one a real request gets.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::world::{
    Admin, CALLERS, Caller, Owner, Peer, Supervisor, World, documented, endpoint, request_body,
    same_shape,
};
use common::{Answer, SHOP_ORIGIN};
use protocol::{AgentToServer, ConversationState, ErrorCode, Role};
use serde_json::{Value, json};
use server::http::openapi::{Access, Endpoint};

/// One cell of the table, parsed from a row `METHOD path caller status [code] [key:value ...]`. In the
/// path, `{active}` is the conversation Ann owns, `{offered}` the Open one offered to Ann, `{open}` an
/// Open one of `sales` offered to nobody, `{waiting}` Ann's persistent one in `inbox`, Waiting, and
/// `{unknown}` an id no conversation has. A success has no
/// code. The optional keys are `body:NAME` (a body of `named_body` instead of the route's usual one),
/// `origin:own` or `origin:foreign` (an `Origin` header), and `given:NAME` (what `Given` happens first).
#[derive(Debug, Clone, Copy)]
struct Cell {
    method: &'static str,
    path: &'static str,
    caller: Caller,
    status: u16,
    code: &'static str,
    body: Option<&'static str>,
    origin: Option<&'static str>,
    given: Option<Given>,
}

impl Cell {
    fn parse(row: &'static str) -> Cell {
        let (keyed, fields): (Vec<&'static str>, Vec<&'static str>) = row
            .split_whitespace()
            .partition(|field| field.contains(':'));
        let (method, path, caller, status, code) = match fields[..] {
            [method, path, caller, status] => (method, path, caller, status, ""),
            [method, path, caller, status, code] => (method, path, caller, status, code),
            _ => panic!("a row is `METHOD path caller status [code] [key:value ...]`: {row}"),
        };
        let caller = CALLERS
            .into_iter()
            .find(|candidate| candidate.name() == caller)
            .unwrap_or_else(|| panic!("no caller `{caller}` in {row}"));
        let status = status
            .parse()
            .unwrap_or_else(|_| panic!("no status in {row}"));
        let mut cell = Cell {
            method,
            path,
            caller,
            status,
            code,
            body: None,
            origin: None,
            given: None,
        };
        for field in keyed {
            match field.split_once(':') {
                Some(("body", name)) => cell.body = Some(name),
                Some(("origin", which @ ("own" | "foreign"))) => cell.origin = Some(which),
                Some(("given", name)) => cell.given = Some(Given::parse(name, row)),
                _ => panic!("unknown `{field}` in {row}"),
            }
        }
        cell
    }

    /// A permitted write changes what the next cell would see, and a cell with a `given` changes the
    /// world before it is sent, so either runs on a node of its own.
    fn changes_state(&self) -> bool {
        (self.method != "GET" && self.status < 300) || self.given.is_some()
    }
}

fn cells(rows: &[&'static str]) -> Vec<Cell> {
    rows.iter().copied().map(Cell::parse).collect()
}

/// The cells of every table.
fn every_cell() -> Vec<Cell> {
    [CELLS, DISABLED_CELLS, OTHER_CELLS, LIMITED_CELLS]
        .into_iter()
        .flat_map(cells)
        .collect()
}

/// The table, with the supervisor actions enabled (the default configuration).
const CELLS: &[&str] = &[
    // Rule health is for any console user.
    "GET   /api/sites/demo/rules/status              anonymous  401 unauthenticated",
    "GET   /api/sites/demo/rules/status              owner      200",
    "GET   /api/sites/demo/rules/status              peer       200",
    "GET   /api/sites/demo/rules/status              stranger   200",
    "GET   /api/sites/demo/rules/status              supervisor 200",
    "GET   /api/sites/demo/rules/status              admin      200",
    // Knowledge search and articles are for any console user.
    "GET   /api/sites/demo/knowledge?q=return        anonymous  401 unauthenticated",
    "GET   /api/sites/demo/knowledge?q=return        owner      200",
    "GET   /api/sites/demo/knowledge?q=return        peer       200",
    "GET   /api/sites/demo/knowledge?q=return        stranger   200",
    "GET   /api/sites/demo/knowledge?q=return        supervisor 200",
    "GET   /api/sites/demo/knowledge?q=return        admin      200",
    "GET   /api/sites/demo/knowledge/returns         anonymous  401 unauthenticated",
    "GET   /api/sites/demo/knowledge/returns         owner      200",
    "GET   /api/sites/demo/knowledge/returns         peer       200",
    "GET   /api/sites/demo/knowledge/returns         stranger   200",
    "GET   /api/sites/demo/knowledge/returns         supervisor 200",
    "GET   /api/sites/demo/knowledge/returns         admin      200",
    // The customer record: reading follows the conversations of one's queues; writing a
    // conversation's record is for its owner and supervisors.
    "GET   /api/sites/demo/contacts?q=ana            anonymous  401 unauthenticated",
    "GET   /api/sites/demo/contacts?q=ana            owner      200",
    "GET   /api/sites/demo/contacts?q=ana            peer       200",
    "GET   /api/sites/demo/contacts?q=ana            stranger   200",
    "GET   /api/sites/demo/contacts?q=ana            supervisor 200",
    "GET   /api/sites/demo/contacts?q=ana            admin      200",
    "POST  /api/contacts                             anonymous  401 unauthenticated",
    "POST  /api/contacts                             owner      200",
    "POST  /api/contacts                             peer       403 not_your_conversation",
    "POST  /api/contacts                             stranger   403 not_your_conversation",
    "POST  /api/contacts                             supervisor 200",
    "POST  /api/contacts                             admin      200",
    "GET   /api/contacts/{contact}                   anonymous  401 unauthenticated",
    "GET   /api/contacts/{contact}                   owner      200",
    "GET   /api/contacts/{contact}                   peer       200",
    "GET   /api/contacts/{contact}                   stranger   403 forbidden",
    "GET   /api/contacts/{contact}                   supervisor 200",
    "GET   /api/contacts/{contact}                   admin      200",
    "PUT   /api/contacts/{contact}                   anonymous  401 unauthenticated",
    "PUT   /api/contacts/{contact}                   owner      200",
    "PUT   /api/contacts/{contact}                   peer       200",
    "PUT   /api/contacts/{contact}                   stranger   403 forbidden",
    "PUT   /api/contacts/{contact}                   supervisor 200",
    "PUT   /api/contacts/{contact}                   admin      200",
    "PUT   /api/conversations/{active}/contact       anonymous  401 unauthenticated",
    "PUT   /api/conversations/{active}/contact       owner      200",
    "PUT   /api/conversations/{active}/contact       peer       403 not_your_conversation",
    "PUT   /api/conversations/{active}/contact       stranger   403 not_your_conversation",
    "PUT   /api/conversations/{active}/contact       supervisor 200",
    "PUT   /api/conversations/{active}/contact       admin      200",
    "POST  /api/cases                                anonymous  401 unauthenticated",
    "POST  /api/cases                                owner      200",
    "POST  /api/cases                                peer       403 not_your_conversation",
    "POST  /api/cases                                stranger   403 not_your_conversation",
    "POST  /api/cases                                supervisor 200",
    "POST  /api/cases                                admin      200",
    "GET   /api/sites/demo/cases?status=open         anonymous  401 unauthenticated",
    "GET   /api/sites/demo/cases?status=open         owner      200",
    "GET   /api/sites/demo/cases?status=open         peer       200",
    "GET   /api/sites/demo/cases?status=open         stranger   200",
    "GET   /api/sites/demo/cases?status=open         supervisor 200",
    "GET   /api/sites/demo/cases?status=open         admin      200",
    "GET   /api/cases/{case}                         anonymous  401 unauthenticated",
    "GET   /api/cases/{case}                         owner      200",
    "GET   /api/cases/{case}                         peer       200",
    "GET   /api/cases/{case}                         stranger   403 forbidden",
    "GET   /api/cases/{case}                         supervisor 200",
    "GET   /api/cases/{case}                         admin      200",
    "PATCH /api/cases/{case}                         anonymous  401 unauthenticated",
    "PATCH /api/cases/{case}                         owner      200",
    "PATCH /api/cases/{case}                         peer       200",
    "PATCH /api/cases/{case}                         stranger   403 forbidden",
    "PATCH /api/cases/{case}                         supervisor 200",
    "PATCH /api/cases/{case}                         admin      200",
    "GET   /api/console/me                           anonymous  401 unauthenticated",
    "GET   /api/console/me                           owner      200",
    "GET   /api/console/me                           peer       200",
    "GET   /api/console/me                           stranger   200",
    "GET   /api/console/me                           supervisor 200",
    "GET   /api/console/me                           admin      200",
    // Everyone changes their own password, knowing the current one.
    "POST  /api/console/password                     anonymous  401 unauthenticated",
    "POST  /api/console/password                     owner      204",
    "POST  /api/console/password                     peer       204",
    "POST  /api/console/password                     stranger   204",
    "POST  /api/console/password                     supervisor 204",
    "POST  /api/console/password                     admin      204",
    // Only admins set someone's password or lift a login lock.
    "PUT   /api/agents/ann/password                  anonymous  401 unauthenticated",
    "PUT   /api/agents/ann/password                  owner      403 forbidden",
    "PUT   /api/agents/ann/password                  peer       403 forbidden",
    "PUT   /api/agents/ann/password                  stranger   403 forbidden",
    "PUT   /api/agents/ann/password                  supervisor 403 forbidden",
    "PUT   /api/agents/ann/password                  admin      204",
    "DELETE /api/agents/ann/login-lock               anonymous  401 unauthenticated",
    "DELETE /api/agents/ann/login-lock               owner      403 forbidden",
    "DELETE /api/agents/ann/login-lock               peer       403 forbidden",
    "DELETE /api/agents/ann/login-lock               stranger   403 forbidden",
    "DELETE /api/agents/ann/login-lock               supervisor 403 forbidden",
    "DELETE /api/agents/ann/login-lock               admin      204",
    // The agents list is the supervisors' dashboard.
    "GET   /api/agents                               anonymous  401 unauthenticated",
    "GET   /api/agents                               owner      403 forbidden",
    "GET   /api/agents                               peer       403 forbidden",
    "GET   /api/agents                               stranger   403 forbidden",
    "GET   /api/agents                               supervisor 200",
    "GET   /api/agents                               admin      200",
    // Only admins create accounts; a supervisor may not either.
    "POST  /api/agents                               anonymous  401 unauthenticated",
    "POST  /api/agents                               owner      403 forbidden",
    "POST  /api/agents                               peer       403 forbidden",
    "POST  /api/agents                               stranger   403 forbidden",
    "POST  /api/agents                               supervisor 403 forbidden",
    "POST  /api/agents                               admin      201",
    // Ann may read her own account; other agents may not.
    "GET   /api/agents/ann                           anonymous  401 unauthenticated",
    "GET   /api/agents/ann                           owner      200",
    "GET   /api/agents/ann                           peer       403 forbidden",
    "GET   /api/agents/ann                           stranger   403 forbidden",
    "GET   /api/agents/ann                           supervisor 200",
    "GET   /api/agents/ann                           admin      200",
    // Ann cannot promote herself, and a supervisor cannot promote her.
    "PATCH /api/agents/ann                           anonymous  401 unauthenticated",
    "PATCH /api/agents/ann                           owner      403 forbidden",
    "PATCH /api/agents/ann                           peer       403 forbidden",
    "PATCH /api/agents/ann                           stranger   403 forbidden",
    "PATCH /api/agents/ann                           supervisor 403 forbidden",
    "PATCH /api/agents/ann                           admin      200",
    // Presence is one's own; only admins set someone else's, supervisors included.
    "PUT   /api/agents/ann/presence                  anonymous  401 unauthenticated",
    "PUT   /api/agents/ann/presence                  owner      200",
    "PUT   /api/agents/ann/presence                  peer       403 forbidden",
    "PUT   /api/agents/ann/presence                  stranger   403 forbidden",
    "PUT   /api/agents/ann/presence                  supervisor 403 forbidden",
    "PUT   /api/agents/ann/presence                  admin      200",
    "GET   /api/queues                               anonymous  401 unauthenticated",
    "GET   /api/queues                               owner      200",
    "GET   /api/queues                               peer       200",
    "GET   /api/queues                               stranger   200",
    "GET   /api/queues                               supervisor 200",
    "GET   /api/queues                               admin      200",
    "GET   /api/offline-messages                     anonymous  401 unauthenticated",
    "GET   /api/offline-messages                     owner      200",
    "GET   /api/offline-messages                     peer       200",
    "GET   /api/offline-messages                     stranger   200",
    "GET   /api/offline-messages                     supervisor 200",
    "GET   /api/offline-messages                     admin      200",
    "GET   /api/work-items/mine                      anonymous  401 unauthenticated",
    "GET   /api/work-items/mine                      owner      200",
    "GET   /api/work-items/mine                      peer       200",
    "GET   /api/work-items/mine                      stranger   200",
    "GET   /api/work-items/mine                      supervisor 200",
    "GET   /api/work-items/mine                      admin      200",
    // The Ongoing conversations dashboard.
    "GET   /api/conversations                        anonymous  401 unauthenticated",
    "GET   /api/conversations                        owner      403 forbidden",
    "GET   /api/conversations                        peer       403 forbidden",
    "GET   /api/conversations                        stranger   403 forbidden",
    "GET   /api/conversations                        supervisor 200",
    "GET   /api/conversations                        admin      200",
    // An Active conversation is its owner's and the supervisors'; while Open, its queue's too.
    "GET   /api/conversations/{active}               anonymous  401 unauthenticated",
    "GET   /api/conversations/{active}               owner      200",
    "GET   /api/conversations/{active}               peer       403 not_your_conversation",
    "GET   /api/conversations/{active}               stranger   403 not_your_conversation",
    "GET   /api/conversations/{active}               supervisor 200",
    "GET   /api/conversations/{active}               admin      200",
    "GET   /api/conversations/{open}                 peer       200",
    "GET   /api/conversations/{open}                 stranger   403 not_your_conversation",
    "GET   /api/conversations/{unknown}              owner      404 unknown_conversation",
    "GET   /api/conversations/{unknown}              admin      404 unknown_conversation",
    "GET   /api/conversations/{active}/history       anonymous  401 unauthenticated",
    "GET   /api/conversations/{active}/history       owner      200",
    "GET   /api/conversations/{active}/history       peer       403 not_your_conversation",
    "GET   /api/conversations/{active}/history       stranger   403 not_your_conversation",
    "GET   /api/conversations/{active}/history       supervisor 200",
    "GET   /api/conversations/{active}/history       admin      200",
    "GET   /api/conversations/{open}/history         peer       200",
    "GET   /api/conversations/{open}/history         stranger   403 not_your_conversation",
    "GET   /api/conversations/{unknown}/history      admin      404 unknown_conversation",
    // Monitoring is a supervisor action, even for the conversation's own agent, and only of Active or
    // Wrap-up conversations.
    "POST  /api/conversations/{active}/monitor       anonymous  401 unauthenticated",
    "POST  /api/conversations/{active}/monitor       owner      403 forbidden",
    "POST  /api/conversations/{active}/monitor       peer       403 forbidden",
    "POST  /api/conversations/{active}/monitor       stranger   403 forbidden",
    "POST  /api/conversations/{active}/monitor       supervisor 200",
    "POST  /api/conversations/{active}/monitor       admin      200",
    "POST  /api/conversations/{open}/monitor         supervisor 409 transition_not_allowed",
    "POST  /api/conversations/{unknown}/monitor      admin      404 unknown_conversation",
    "DELETE /api/conversations/{active}/monitor      anonymous  401 unauthenticated",
    "DELETE /api/conversations/{active}/monitor      owner      403 forbidden",
    "DELETE /api/conversations/{active}/monitor      peer       403 forbidden",
    "DELETE /api/conversations/{active}/monitor      stranger   403 forbidden",
    "DELETE /api/conversations/{active}/monitor      supervisor 200              given:monitoring",
    "DELETE /api/conversations/{active}/monitor      admin      200",
    "DELETE /api/conversations/{unknown}/monitor     admin      404 unknown_conversation",
    // Joining is a supervisor action too; the owner is already in the conversation.
    "POST  /api/conversations/{active}/join          anonymous  401 unauthenticated",
    "POST  /api/conversations/{active}/join          owner      403 forbidden",
    "POST  /api/conversations/{active}/join          peer       403 forbidden",
    "POST  /api/conversations/{active}/join          stranger   403 forbidden",
    "POST  /api/conversations/{active}/join          supervisor 200",
    "POST  /api/conversations/{active}/join          admin      200",
    "POST  /api/conversations/{open}/join            supervisor 409 transition_not_allowed",
    "POST  /api/conversations/{unknown}/join         admin      404 unknown_conversation",
    // Leaving is for whoever is in the conversation besides its owner.
    "POST  /api/conversations/{active}/leave         anonymous  401 unauthenticated",
    "POST  /api/conversations/{active}/leave         owner      403 not_your_conversation",
    "POST  /api/conversations/{active}/leave         peer       403 not_your_conversation",
    "POST  /api/conversations/{active}/leave         stranger   403 not_your_conversation",
    "POST  /api/conversations/{active}/leave         admin      403 not_your_conversation",
    "POST  /api/conversations/{active}/leave         supervisor 200              given:joined",
    "POST  /api/conversations/{unknown}/leave        admin      404 unknown_conversation",
    // Only the agent an offer went to answers it; rank does not help.
    "POST  /api/conversations/{offered}/accept       anonymous  401 unauthenticated",
    "POST  /api/conversations/{offered}/accept       owner      200",
    "POST  /api/conversations/{offered}/accept       peer       403 not_offered_to_you",
    "POST  /api/conversations/{offered}/accept       stranger   403 not_offered_to_you",
    "POST  /api/conversations/{offered}/accept       supervisor 403 not_offered_to_you",
    "POST  /api/conversations/{offered}/accept       admin      403 not_offered_to_you",
    "POST  /api/conversations/{unknown}/accept       admin      404 unknown_conversation",
    "POST  /api/conversations/{offered}/reject       anonymous  401 unauthenticated",
    "POST  /api/conversations/{offered}/reject       owner      204",
    "POST  /api/conversations/{offered}/reject       peer       403 not_offered_to_you",
    "POST  /api/conversations/{offered}/reject       stranger   403 not_offered_to_you",
    "POST  /api/conversations/{offered}/reject       supervisor 403 not_offered_to_you",
    "POST  /api/conversations/{offered}/reject       admin      403 not_offered_to_you",
    "POST  /api/conversations/{unknown}/reject       admin      404 unknown_conversation",
    // Picking needs membership of the queue (supervisors: any queue) and free capacity: Ann's two
    // units are taken by her Active conversation and her pending offer.
    "POST  /api/conversations/{open}/pick            anonymous  401 unauthenticated",
    "POST  /api/conversations/{open}/pick            owner      409 over_capacity",
    "POST  /api/conversations/{open}/pick            peer       200",
    "POST  /api/conversations/{open}/pick            stranger   403 not_allowed",
    "POST  /api/conversations/{open}/pick            supervisor 200",
    "POST  /api/conversations/{open}/pick            admin      200",
    "POST  /api/conversations/{active}/pick          peer       409 transition_not_allowed",
    "POST  /api/conversations/{unknown}/pick         admin      404 unknown_conversation",
    // The owner's own actions: nobody else may take them, not even an admin, who force-closes instead.
    "POST  /api/conversations/{active}/release       anonymous  401 unauthenticated",
    "POST  /api/conversations/{active}/release       owner      200",
    "POST  /api/conversations/{active}/release       peer       403 not_your_conversation",
    "POST  /api/conversations/{active}/release       stranger   403 not_your_conversation",
    "POST  /api/conversations/{active}/release       supervisor 403 not_your_conversation",
    "POST  /api/conversations/{active}/release       admin      403 not_your_conversation",
    "POST  /api/conversations/{unknown}/release      admin      404 unknown_conversation",
    "POST  /api/conversations/{active}/end           anonymous  401 unauthenticated",
    "POST  /api/conversations/{active}/end           owner      200",
    "POST  /api/conversations/{active}/end           peer       403 not_your_conversation",
    "POST  /api/conversations/{active}/end           stranger   403 not_your_conversation",
    "POST  /api/conversations/{active}/end           supervisor 403 not_your_conversation",
    "POST  /api/conversations/{active}/end           admin      403 not_your_conversation",
    "POST  /api/conversations/{active}/resolve       anonymous  401 unauthenticated",
    "POST  /api/conversations/{active}/resolve       owner      200",
    "POST  /api/conversations/{active}/resolve       peer       403 not_your_conversation",
    "POST  /api/conversations/{active}/resolve       stranger   403 not_your_conversation",
    "POST  /api/conversations/{active}/resolve       supervisor 403 not_your_conversation",
    "POST  /api/conversations/{active}/resolve       admin      403 not_your_conversation",
    "POST  /api/conversations/{unknown}/end          owner      404 unknown_conversation",
    "POST  /api/conversations/{active}/close         anonymous  401 unauthenticated",
    "POST  /api/conversations/{active}/close         owner      200",
    "POST  /api/conversations/{active}/close         peer       403 not_your_conversation",
    "POST  /api/conversations/{active}/close         stranger   403 not_your_conversation",
    "POST  /api/conversations/{active}/close         supervisor 403 not_your_conversation",
    "POST  /api/conversations/{active}/close         admin      403 not_your_conversation",
    "POST  /api/conversations/{unknown}/close        admin      404 unknown_conversation",
    // Reopening is for Waiting persistent conversations: the owner of an Active live chat hears that
    // the transition is not allowed; everyone else hears it is not theirs first.
    "POST  /api/conversations/{active}/reopen        anonymous  401 unauthenticated",
    "POST  /api/conversations/{active}/reopen        owner      409 transition_not_allowed",
    "POST  /api/conversations/{active}/reopen        peer       403 not_your_conversation",
    "POST  /api/conversations/{active}/reopen        stranger   403 not_your_conversation",
    "POST  /api/conversations/{active}/reopen        supervisor 403 not_your_conversation",
    "POST  /api/conversations/{active}/reopen        admin      403 not_your_conversation",
    "POST  /api/conversations/{unknown}/reopen       admin      404 unknown_conversation",
    // A transfer is the owner's, or a supervisor action; another agent is refused as a non-supervisor.
    "POST  /api/conversations/{active}/transfer      anonymous  401 unauthenticated",
    "POST  /api/conversations/{active}/transfer      owner      200",
    "POST  /api/conversations/{active}/transfer      peer       403 forbidden",
    "POST  /api/conversations/{active}/transfer      stranger   403 forbidden",
    "POST  /api/conversations/{active}/transfer      supervisor 200",
    "POST  /api/conversations/{active}/transfer      admin      200",
    "POST  /api/conversations/{unknown}/transfer     admin      404 unknown_conversation",
    // Assigning is a supervisor action on Open conversations only.
    "POST  /api/conversations/{open}/assign          anonymous  401 unauthenticated",
    "POST  /api/conversations/{open}/assign          owner      403 forbidden",
    "POST  /api/conversations/{open}/assign          peer       403 forbidden",
    "POST  /api/conversations/{open}/assign          stranger   403 forbidden",
    "POST  /api/conversations/{open}/assign          supervisor 200",
    "POST  /api/conversations/{open}/assign          admin      200",
    "POST  /api/conversations/{active}/assign        supervisor 409 transition_not_allowed",
    "POST  /api/conversations/{unknown}/assign       admin      404 unknown_conversation",
    // The audit log is the admins'.
    "GET   /api/audit                                anonymous  401 unauthenticated",
    "GET   /api/audit                                owner      403 forbidden",
    "GET   /api/audit                                peer       403 forbidden",
    "GET   /api/audit                                stranger   403 forbidden",
    "GET   /api/audit                                supervisor 403 forbidden",
    "GET   /api/audit                                admin      200",
    // Force close is a supervisor action, which the owner does not have either.
    "POST  /api/conversations/{active}/force-close   anonymous  401 unauthenticated",
    "POST  /api/conversations/{active}/force-close   owner      403 forbidden",
    "POST  /api/conversations/{active}/force-close   peer       403 forbidden",
    "POST  /api/conversations/{active}/force-close   stranger   403 forbidden",
    "POST  /api/conversations/{active}/force-close   supervisor 200",
    "POST  /api/conversations/{active}/force-close   admin      200",
    "POST  /api/conversations/{unknown}/force-close  admin      404 unknown_conversation",
];

/// Every supervisor action turned off: admins keep them all.
const NO_SUPERVISOR_ACTIONS: &str = "
[supervision]
monitor = false
assign = false
transfer = false
force_close = false
";

/// The supervisor's cells under `NO_SUPERVISOR_ACTIONS`, with the admin's beside them.
const DISABLED_CELLS: &[&str] = &[
    "POST  /api/conversations/{active}/monitor       supervisor 403 forbidden",
    "POST  /api/conversations/{active}/monitor       admin      200",
    "POST  /api/conversations/{active}/join          supervisor 403 forbidden",
    "POST  /api/conversations/{active}/join          admin      200",
    "POST  /api/conversations/{open}/assign          supervisor 403 forbidden",
    "POST  /api/conversations/{open}/assign          admin      200",
    "POST  /api/conversations/{active}/transfer      supervisor 403 forbidden",
    "POST  /api/conversations/{active}/transfer      admin      200",
    "POST  /api/conversations/{active}/force-close   supervisor 403 forbidden",
    "POST  /api/conversations/{active}/force-close   admin      200",
    // Picking and the dashboard are not supervisor actions, so they stay.
    "POST  /api/conversations/{open}/pick            supervisor 200",
    "GET   /api/conversations                        supervisor 200",
    // Reading someone else's conversation is monitoring it: with `monitor` off, only admins may.
    "GET   /api/conversations/{active}               supervisor 403 forbidden",
    "GET   /api/conversations/{active}               admin      200",
];

/// Every status the document lists that the caller table does not reach: bodies a route refuses, the
/// public and widget routes, and actions the conversation's state refuses. With `CELLS` and
/// `DISABLED_CELLS`, every documented status of every route is reached (the coverage test checks it).
const OTHER_CELLS: &[&str] = &[
    // The customer record's bad input and unknown records.
    "GET   /api/sites/nowhere/contacts?q=ana         owner      404 unknown_site",
    concat!(
        "GET /api/sites/demo/contacts?q=",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        " owner 400 bad_request"
    ),
    "POST  /api/contacts                             owner      400 bad_request          body:nameless_contact",
    "POST  /api/contacts                             owner      404 unknown_conversation body:contact_for_nothing",
    "GET   /api/contacts/nobody                      owner      404 unknown_contact",
    "PUT   /api/contacts/{contact}                   owner      400 bad_request          body:bad_email",
    "PUT   /api/contacts/nobody                      owner      404 unknown_contact",
    "PUT   /api/conversations/{active}/contact       owner      400 bad_request          body:not_json",
    "PUT   /api/conversations/{active}/contact       owner      404 unknown_contact      body:nobody",
    "POST  /api/cases                                owner      400 bad_request          body:untitled_case",
    "POST  /api/cases                                owner      404 unknown_conversation body:case_for_nothing",
    "PATCH /api/cases/{case}                         owner      400 bad_request          body:untitled_case_patch",
    "PATCH /api/cases/nobody                         owner      404 unknown_case",
    "GET   /api/cases/nobody                         owner      404 unknown_case",
    "GET   /api/sites/nowhere/cases                  owner      404 unknown_site",
    "GET   /api/sites/demo/cases?status=closed       owner      400 bad_request",
    // Account rules and unknown accounts.
    "POST  /api/agents                               admin      400 bad_request          body:short_password",
    "POST  /api/agents                               admin      404 unknown_queue        body:unknown_queue",
    "POST  /api/agents                               admin      409 id_conflict          body:existing_username",
    "GET   /api/agents/nobody                        admin      404 unknown_agent",
    "GET   /api/audit?limit=0                        admin      400 bad_request",
    "PATCH /api/agents/ann                           admin      400 bad_request          body:no_capacity",
    "PATCH /api/agents/nobody                        admin      404 unknown_agent",
    "PUT   /api/agents/ann/presence                  owner      400 bad_request          body:unknown_presence",
    "PUT   /api/agents/nobody/presence               admin      404 unknown_agent",
    "PUT   /api/agents/ann/password                  admin      400 bad_request          body:short_reset",
    "PUT   /api/agents/nobody/password               admin      404 unknown_agent",
    "POST  /api/console/password                     owner      400 bad_request          body:short_new_password",
    "POST  /api/console/password                     owner      401 invalid_credentials  body:wrong_current_password",
    "POST  /api/console/password                     owner      403 origin_not_allowed   origin:foreign",
    // Disabling the last enabled admin, or a disabled account's right password.
    "PATCH /api/agents/ada                           admin      403 not_allowed          body:disable",
    "POST  /api/console/login                        anonymous  403 account_disabled     given:ann_disabled",
    // Logging in and out: the console's own origin, or no origin at all, only.
    "POST  /api/console/login                        anonymous  200",
    "POST  /api/console/login                        anonymous  400 bad_request          body:not_json",
    "POST  /api/console/login                        anonymous  401 invalid_credentials  body:wrong_password",
    "POST  /api/console/login                        anonymous  403 origin_not_allowed   origin:foreign",
    "POST  /api/console/logout                       owner      204",
    "POST  /api/console/logout                       owner      403 origin_not_allowed   origin:foreign",
    // A transfer or an assignment names exactly one target.
    "POST  /api/conversations/{active}/transfer      owner      400 bad_request          body:both_targets",
    "POST  /api/conversations/{open}/assign          supervisor 400 bad_request          body:both_targets",
    // A transfer to an agent is an offer the agent answers, and one at a time.
    "POST  /api/conversations/{active}/transfer      owner      202                      body:to_bob given:bob_free",
    "POST  /api/conversations/{active}/transfer      owner      409 transfer_pending     body:to_bob given:transfer_pending",
    // What a Wrap-up or Closed conversation no longer allows.
    "POST  /api/conversations/{active}/release       owner      409 transition_not_allowed given:ended",
    "POST  /api/conversations/{active}/end           owner      409 transition_not_allowed given:resolved",
    "POST  /api/conversations/{active}/close         owner      409 transition_not_allowed given:resolved",
    "POST  /api/conversations/{active}/resolve       owner      409 transition_not_allowed given:resolved",
    "POST  /api/conversations/{active}/force-close   supervisor 409 transition_not_allowed given:resolved",
    "POST  /api/conversations/{unknown}/resolve      admin      404 unknown_conversation",
    // A Waiting persistent conversation is its owner's to reopen.
    "POST  /api/conversations/{waiting}/reopen       owner      200",
    // The widget's routes and the document itself.
    "GET   /api/openapi.json                         anonymous  200",
    "GET   /api/sites/demo/config                    anonymous  200",
    "GET   /api/sites/elsewhere/config               anonymous  404 unknown_site",
    "GET   /api/sites/demo/availability              anonymous  200",
    "GET   /api/sites/elsewhere/availability         anonymous  404 unknown_site",
    "POST  /api/sites/demo/invitation-events         anonymous  204                      origin:own",
    "POST  /api/sites/demo/invitation-events         anonymous  400 bad_request          origin:own body:no_event_id",
    "POST  /api/sites/demo/invitation-events         anonymous  403 origin_not_allowed   origin:foreign",
    "POST  /api/sites/elsewhere/invitation-events    anonymous  404 unknown_site         origin:own",
    // Console reads of things that do not exist.
    "GET   /api/sites/elsewhere/rules/status         owner      404 unknown_site",
    "GET   /api/work-items/elsewhere                 owner      404 not_found",
    "GET   /api/sites/elsewhere/knowledge?q=x        owner      404 unknown_site",
    "GET   /api/sites/elsewhere/knowledge/returns    owner      404 unknown_site",
    "GET   /api/sites/demo/knowledge/nothing         owner      404 unknown_article",
    "GET   /api/sites/demo/knowledge                 owner      400 bad_request",
];

/// Limits low enough for a cell to reach: two tries, then a lock that lasts.
const LOW_LIMITS: &str = r#"
[limits]
login_per_username = { burst = 2, every = "1h" }
invitation_events_per_address = { burst = 2, every = "1h" }
"#;

/// The rate limits' refusals, under `LOW_LIMITS`.
const LIMITED_CELLS: &[&str] = &[
    "POST  /api/console/login                        anonymous  429 rate_limited         body:unknown_user given:two_failed_logins",
    "POST  /api/sites/demo/invitation-events         anonymous  429 rate_limited         origin:own given:two_events",
];

/// What happens before a cell is sent, as cells of its own that must answer as they say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Given {
    /// Ann ended her Active conversation: it is in Wrap-up.
    Ended,
    /// Ann resolved her Active conversation: it is Closed.
    Resolved,
    /// Bob is Available with room for a transfer (routing offers him the Open conversation too).
    BobFree,
    /// Ann has asked Bob to take her conversation, and he has not answered.
    TransferPending,
    /// An admin disabled Ann's account.
    AnnDisabled,
    /// Two logins for an unknown username failed.
    TwoFailedLogins,
    /// Two invitation events came from this address.
    TwoEvents,
    /// Sue monitors Ann's Active conversation.
    Monitoring,
    /// Sue joined Ann's Active conversation.
    Joined,
}

impl Given {
    fn parse(name: &str, row: &str) -> Given {
        match name {
            "ended" => Given::Ended,
            "resolved" => Given::Resolved,
            "bob_free" => Given::BobFree,
            "transfer_pending" => Given::TransferPending,
            "ann_disabled" => Given::AnnDisabled,
            "two_failed_logins" => Given::TwoFailedLogins,
            "two_events" => Given::TwoEvents,
            "monitoring" => Given::Monitoring,
            "joined" => Given::Joined,
            _ => panic!("no `given:{name}` in {row}"),
        }
    }

    fn steps(self) -> &'static [&'static str] {
        match self {
            Given::Ended => &["POST /api/conversations/{active}/end owner 200"],
            Given::Resolved => &["POST /api/conversations/{active}/resolve owner 200"],
            Given::BobFree => &[
                "PATCH /api/agents/bob admin 200 body:capacity_3",
                "PUT /api/agents/bob/presence peer 200 body:available",
            ],
            Given::TransferPending => &[
                "PATCH /api/agents/bob admin 200 body:capacity_3",
                "PUT /api/agents/bob/presence peer 200 body:available",
                "POST /api/conversations/{active}/transfer owner 202 body:to_bob",
            ],
            Given::AnnDisabled => &["PATCH /api/agents/ann admin 200 body:disable"],
            Given::TwoFailedLogins => &[
                "POST /api/console/login anonymous 401 invalid_credentials body:unknown_user",
                "POST /api/console/login anonymous 401 invalid_credentials body:unknown_user",
            ],
            Given::TwoEvents => &[
                "POST /api/sites/demo/invitation-events anonymous 204 origin:own",
                "POST /api/sites/demo/invitation-events anonymous 204 origin:own",
            ],
            Given::Monitoring => &["POST /api/conversations/{active}/monitor supervisor 200"],
            Given::Joined => &["POST /api/conversations/{active}/join supervisor 200"],
        }
    }
}

/// The body of `POST /api/agents` for an agent of one queue.
fn new_agent(username: &str, password: &str, capacity: u32, queue: &str) -> Value {
    json!({
        "username": username, "display_name": "New Agent", "password": password,
        "role": "agent", "capacity": capacity, "queues": [queue],
    })
}

/// The JSON text a `body:NAME` sends.
fn named_body(name: &str) -> String {
    let body = match name {
        "short_password" => new_agent("dee", "short", 1, "sales"),
        "unknown_queue" => new_agent("dee", "long enough", 1, "billing"),
        "existing_username" => new_agent("bob", "long enough", 1, "sales"),
        "no_capacity" => json!({ "capacity": 0 }),
        "capacity_3" => json!({ "capacity": 3 }),
        "unknown_presence" => json!({ "presence": "asleep" }),
        "available" => json!({ "presence": "available" }),
        "wrong_password" => json!({ "username": "ann", "password": "not the password" }),
        "both_targets" => json!({ "queue_id": "support", "username": "bob" }),
        "to_bob" => json!({ "username": "bob" }),
        "no_event_id" => json!({ "id": "", "rule_id": "pricing-help", "kind": "shown" }),
        "not_json" => return "{".to_owned(),
        "unknown_user" => json!({ "username": "mallory", "password": "a guess at it" }),
        "short_new_password" => {
            json!({ "current_password": common::PASSWORD, "new_password": "short" })
        }
        "wrong_current_password" => {
            json!({ "current_password": "not the password", "new_password": "a fresh passphrase" })
        }
        "short_reset" => json!({ "new_password": "short" }),
        "disable" => json!({ "disabled": true }),
        "nameless_contact" => json!({ "conversation_id": "{active}", "contact": { "name": " " } }),
        "contact_for_nothing" => {
            json!({ "conversation_id": "nothing", "contact": { "name": "Ana" } })
        }
        "bad_email" => json!({ "name": "Ana", "email": "ana at example" }),
        "nobody" => json!({ "contact_id": "nobody" }),
        "untitled_case" => json!({ "conversation_id": "{active}", "title": "" }),
        "case_for_nothing" => json!({ "conversation_id": "nothing", "title": "Refund" }),
        "untitled_case_patch" => json!({ "title": "  " }),
        _ => panic!("no `body:{name}`"),
    };
    body.to_string()
}

/// The documented route a cell exercises.
fn endpoint_of(cell: &Cell) -> &'static Endpoint {
    endpoint(cell.method, cell.path)
}

fn needs_login(endpoint: &Endpoint) -> bool {
    endpoint.access.needs_session()
}

/// Sends the cell's request: its caller's cookie, its origin if it names one, and its named body or
/// else the route's usual JSON body if it has one.
async fn send(world: &World, cell: &Cell) -> Answer {
    let mut request = world.request(cell.method, cell.path, cell.caller);
    match cell.origin {
        Some("own") => request = request.header(header::ORIGIN, world.node.origin()),
        Some(_) => request = request.header(header::ORIGIN, "http://evil.test"),
        None => {}
    }
    let body = match cell.body {
        Some(name) => Some(named_body(name)),
        None => request_body(endpoint_of(cell)).map(|body| body.to_string()),
    };
    world.send(request, body).await
}

/// How the answer differs from the cell, if it does.
fn mismatch(cell: &Cell, answer: &Answer) -> Option<String> {
    let body = String::from_utf8_lossy(&answer.body);
    if answer.status.as_u16() != cell.status {
        return Some(format!("{cell:?} answered {}: {body}", answer.status));
    }
    if !cell.code.is_empty() && answer.error_code() != cell.code {
        return Some(format!("{cell:?} answered code {}", answer.error_code()));
    }
    None
}

/// Runs every cell that must change nothing (refusals and reads) on one node, in order, checking after
/// each that the store is exactly as before. Mismatched answers are collected so one run shows them all.
async fn check_cells_without_effects(extra_config: &str, cells: &[Cell]) {
    let world = World::new(extra_config).await;
    let before = world.snapshot().await;
    let mut mismatches = Vec::new();
    for cell in cells.iter().filter(|cell| !cell.changes_state()) {
        let answer = send(&world, cell).await;
        mismatches.extend(mismatch(cell, &answer));
        let after = world.snapshot().await;
        assert!(
            after == before,
            "{cell:?} changed the store:\nbefore {before:#?}\nafter {after:#?}"
        );
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// Runs each permitted write, and each cell with a `given`, on a node of its own, since it changes what
/// the next cell would see. A refusal there changes nothing either.
async fn check_cells_with_effects(extra_config: &str, cells: &[Cell]) {
    let mut mismatches = Vec::new();
    for cell in cells.iter().filter(|cell| cell.changes_state()) {
        let world = World::new(extra_config).await;
        for step in cell.given.map(Given::steps).unwrap_or_default() {
            let step = Cell::parse(step);
            let answer = send(&world, &step).await;
            assert_eq!(mismatch(&step, &answer), None, "setting up {cell:?}");
        }
        let before = world.snapshot().await;
        let answer = send(&world, cell).await;
        mismatches.extend(mismatch(cell, &answer));
        if cell.status >= 300 {
            assert_eq!(world.snapshot().await, before, "{cell:?} changed the store");
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// The permitted writes are split in two tests so they run side by side, each on nodes of its own.
fn is_about_agents_or_sessions(cell: &Cell) -> bool {
    !cell.path.starts_with("/api/conversations/")
}

#[test]
fn the_table_gives_every_caller_a_cell_for_every_route_that_needs_a_login() {
    let mut missing = Vec::new();
    for endpoint in documented().iter().filter(|endpoint| needs_login(endpoint)) {
        for caller in CALLERS {
            let covered = cells(CELLS).iter().any(|cell| {
                cell.caller == caller
                    && cell.method.eq_ignore_ascii_case(&endpoint.method)
                    && same_shape(&endpoint.path, cell.path)
            });
            if !covered {
                missing.push(format!(
                    "{} {} by {caller:?}",
                    endpoint.method, endpoint.path
                ));
            }
        }
        // A route with a body gets one here, or every cell would test the body parser instead.
        assert_eq!(
            request_body(endpoint).is_some(),
            endpoint.request,
            "{} {}",
            endpoint.method,
            endpoint.path
        );
    }
    assert!(missing.is_empty(), "cells missing:\n{}", missing.join("\n"));
    for cell in cells(CELLS).iter().chain(&cells(DISABLED_CELLS)) {
        let endpoint = endpoint_of(cell);
        assert!(needs_login(endpoint), "{cell:?} is for a public route");
    }
}

#[test]
fn every_refusal_in_the_table_is_a_known_code_with_its_own_status_and_successes_are_documented() {
    for cell in &every_cell() {
        // Whatever the route answers, its operation documents that status.
        let endpoint = endpoint_of(cell);
        assert!(
            endpoint.statuses.contains(&cell.status),
            "{cell:?}: {} {} documents only {:?}",
            endpoint.method,
            endpoint.path,
            endpoint.statuses
        );
        if cell.code.is_empty() {
            // The documented success status is the one a permitted caller gets; a transfer to an
            // agent, with its own body, is the one success of another status.
            assert!((200..300).contains(&cell.status), "{cell:?}");
            if cell.body.is_none() {
                assert_eq!(cell.status, endpoint.success(), "{cell:?}");
            }
        } else {
            let code: ErrorCode = serde_json::from_value(json!(cell.code))
                .unwrap_or_else(|error| panic!("{cell:?}: not an error code ({error})"));
            assert_eq!(code.http_status(), cell.status, "{cell:?}");
        }
    }
}

#[test]
fn documented_access_bounds_every_permitted_cell() {
    for cell in &every_cell() {
        if cell.status >= 300 {
            continue;
        }
        let endpoint = endpoint_of(cell);
        let least = match endpoint.access {
            Access::Public | Access::Widget => continue,
            Access::Agent => Role::Agent,
            Access::Supervisor => Role::Supervisor,
            Access::Admin => Role::Admin,
        };
        assert!(
            cell.caller.role().is_some_and(|role| role >= least),
            "{cell:?} succeeds although the document says {:?}",
            endpoint.access
        );
    }
}

#[tokio::test]
async fn refusals_and_reads_answer_as_the_table_says_and_change_nothing() {
    check_cells_without_effects("", &cells(CELLS)).await;
}

#[tokio::test]
async fn permitted_agent_and_session_writes_answer_as_the_table_says() {
    let mut cells = cells(CELLS);
    cells.retain(is_about_agents_or_sessions);
    check_cells_with_effects("", &cells).await;
}

#[tokio::test]
async fn permitted_conversation_actions_answer_as_the_table_says() {
    let mut cells = cells(CELLS);
    cells.retain(|cell| !is_about_agents_or_sessions(cell));
    check_cells_with_effects("", &cells).await;
}

#[tokio::test]
async fn disabled_supervisor_actions_are_forbidden_to_supervisors_but_not_to_admins() {
    let cells = cells(DISABLED_CELLS);
    check_cells_without_effects(NO_SUPERVISOR_ACTIONS, &cells).await;
    check_cells_with_effects(NO_SUPERVISOR_ACTIONS, &cells).await;
}

#[test]
fn every_status_the_document_lists_is_reached_by_a_cell() {
    let every_cell = every_cell();
    let mut unreached = Vec::new();
    for endpoint in documented() {
        for &status in &endpoint.statuses {
            let reached = every_cell.iter().any(|cell| {
                cell.status == status
                    && cell.method.eq_ignore_ascii_case(&endpoint.method)
                    && same_shape(&endpoint.path, cell.path)
            });
            if !reached {
                unreached.push(format!("{} {} {status}", endpoint.method, endpoint.path));
            }
        }
    }
    assert!(
        unreached.is_empty(),
        "documented statuses no cell reaches:\n{}",
        unreached.join("\n")
    );
}

#[tokio::test]
async fn every_other_documented_status_answers_as_the_table_says() {
    let other = cells(OTHER_CELLS);
    check_cells_without_effects("", &other).await;
    check_cells_with_effects("", &other).await;
}

#[tokio::test]
async fn rate_limits_refuse_as_the_table_says() {
    check_cells_with_effects(LOW_LIMITS, &cells(LIMITED_CELLS)).await;
}

#[tokio::test]
async fn a_supervisor_cannot_monitor_a_conversation_they_own() {
    let world = World::new("").await;
    let pick = Cell::parse("POST /api/conversations/{open}/pick supervisor 200");
    assert_eq!(mismatch(&pick, &send(&world, &pick).await), None);
    let picked = world.conversation(&world.open).await;
    assert_eq!(
        (picked.state, picked.agent_username.as_deref()),
        (ConversationState::Active, Some("sue"))
    );

    let before = world.snapshot().await;
    let own = Cell::parse("POST /api/conversations/{open}/monitor supervisor 403 forbidden");
    assert_eq!(mismatch(&own, &send(&world, &own).await), None);
    assert_eq!(world.snapshot().await, before);
    // The same conversation is someone else's to the admin, who may monitor it.
    let admin = Cell::parse("POST /api/conversations/{open}/monitor admin 200");
    assert_eq!(mismatch(&admin, &send(&world, &admin).await), None);
}

#[tokio::test]
async fn agent_sockets_cannot_end_close_or_type_in_someone_elses_conversation() {
    let world = World::new("").await;
    let mut bob = world
        .node
        .agent(world.cookie(Peer).expect("a session"), "bob")
        .await;
    let mut sue = world
        .node
        .agent(world.cookie(Supervisor).expect("a session"), "sue")
        .await;
    let before = world.snapshot().await;
    for socket in [&mut bob, &mut sue] {
        for frame in [
            AgentToServer::End {
                conversation_id: world.active.clone(),
            },
            AgentToServer::Close {
                conversation_id: world.active.clone(),
            },
            AgentToServer::Typing {
                conversation_id: world.active.clone(),
                typing: true,
            },
        ] {
            socket.send(&frame).await;
            assert_eq!(socket.error().await, "not_your_conversation", "{frame:?}");
            assert_eq!(world.snapshot().await, before, "{frame:?}");
        }
    }
}

#[tokio::test]
async fn console_writes_from_a_foreign_origin_are_refused_before_anything_else() {
    let world = World::new("").await;
    let end = format!("/api/conversations/{}/end", world.active);
    let ann = world.cookie(Owner).expect("a session").to_owned();
    let request = |origin: Option<&str>, cookie: Option<&str>| {
        let mut request = Request::post(end.as_str());
        if let Some(origin) = origin {
            request = request.header(header::ORIGIN, origin);
        }
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        request.body(Body::empty()).expect("a request")
    };

    let before = world.snapshot().await;
    // The shop may embed the widget, but it is no more the console's origin than any other site.
    for origin in ["http://evil.test", SHOP_ORIGIN] {
        let answer = world.node.http(request(Some(origin), Some(&ann))).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{origin}");
        assert_eq!(answer.error_code(), "origin_not_allowed", "{origin}");
        // The origin is checked before the session: an anonymous cross-origin write hears the same.
        let answer = world.node.http(request(Some(origin), None)).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{origin}");
        assert_eq!(answer.error_code(), "origin_not_allowed", "{origin}");
        assert_eq!(world.snapshot().await, before, "{origin}");
    }
    // Reads are not guarded: a cross-origin page cannot read the answer anyway.
    let me = Request::get("/api/console/me")
        .header(header::ORIGIN, "http://evil.test")
        .header(header::COOKIE, &ann)
        .body(Body::empty())
        .expect("a request");
    assert_eq!(world.node.http(me).await.status, StatusCode::OK);

    // Without an Origin (a command-line client) the cookie alone decides: Active goes to Wrap-up.
    let answer = world.node.http(request(None, Some(&ann))).await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    let state = world.conversation(&world.active).await.state;
    assert_eq!(state, ConversationState::WrapUp);
    // From the console's own origin too: Wrap-up goes to Closed.
    let origin = world.node.origin();
    let answer = world.node.http(request(Some(&origin), Some(&ann))).await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    let state = world.conversation(&world.active).await.state;
    assert_eq!(state, ConversationState::Closed);
}

/// The admin API checks a new or edited account by the same rules as the configuration's seeds and
/// `beckon agent add` (`domain::agents`), and refuses anyone but an admin before it reads the body.
#[tokio::test]
async fn accounts_made_or_edited_through_the_api_follow_the_one_set_of_account_rules() {
    let world = World::new("").await;
    let request = |method: &str, path: &str, caller: Caller, body: Value| {
        let mut request = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).expect("a method"))
            .uri(path)
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(cookie) = world.cookie(caller) {
            request = request.header(header::COOKIE, cookie);
        }
        request
            .body(Body::from(body.to_string()))
            .expect("a request")
    };
    let cases = [
        (
            new_agent("dee lee", "long enough", 1, "sales"),
            400,
            "bad_request",
            "`username` must be 1 to 64 letters, digits, `-`, `_` or `.`",
        ),
        (
            new_agent("dee", "short", 1, "sales"),
            400,
            "bad_request",
            "`password` needs 8 to 256 characters",
        ),
        (
            new_agent("dee", "long enough", 0, "sales"),
            400,
            "bad_request",
            "`capacity` must be at least 1",
        ),
        (
            new_agent("dee", "long enough", 1, "billing"),
            404,
            "unknown_queue",
            "`queues`: unknown queue `billing`",
        ),
    ];
    for (body, status, code, message) in cases {
        let answer = world
            .node
            .http(request("POST", "/api/agents", Admin, body.clone()))
            .await;
        assert_eq!(answer.status.as_u16(), status, "{body}: {answer:?}");
        assert_eq!(answer.error_code(), code, "{body}");
        assert_eq!(answer.json()["message"], message, "{body}");
    }
    assert!(
        world
            .node
            .runtime()
            .store()
            .agent("dee")
            .await
            .unwrap()
            .is_none(),
        "no refused account is stored"
    );

    for (patch, code, message) in [
        (
            json!({ "capacity": 0 }),
            "bad_request",
            "`capacity` must be at least 1",
        ),
        (
            json!({ "queues": ["sales", "billing"] }),
            "unknown_queue",
            "`queues`: unknown queue `billing`",
        ),
    ] {
        let answer = world
            .node
            .http(request("PATCH", "/api/agents/bob", Admin, patch.clone()))
            .await;
        assert_eq!(answer.error_code(), code, "{patch}: {answer:?}");
        assert_eq!(answer.json()["message"], message, "{patch}");
    }
    let bob = world
        .node
        .runtime()
        .store()
        .agent("bob")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(bob.queues, ["sales"], "a refused edit changes nothing");

    // Rank is checked before the body is read: a supervisor's malformed request is refused for who
    // they are, not for what they sent.
    for (method, path) in [("POST", "/api/agents"), ("PATCH", "/api/agents/bob")] {
        let answer = world
            .node
            .http(request(
                method,
                path,
                Supervisor,
                json!({ "capacity": "many" }),
            ))
            .await;
        assert_eq!(
            answer.error_code(),
            "forbidden",
            "{method} {path}: {answer:?}"
        );
    }

    let answer = world
        .node
        .http(request(
            "POST",
            "/api/agents",
            Admin,
            new_agent("dee.lee-2", "long enough", 2, "sales"),
        ))
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
    assert_eq!(answer.json()["shown_presence"], "offline");
    let login = world.node.post_login("dee.lee-2", "long enough").await;
    assert_eq!(
        login.status,
        StatusCode::OK,
        "the new agent logs in: {login:?}"
    );
}
