//! The MCP protocol as the gateway sees it, in one place: the methods and what each is to the
//! gateway ([`method`]), the eras and their versions and `_meta` keys ([`era`]), refusals and
//! their HTTP status per era ([`refusal`]), task ids of the tasks extension ([`tasks`]), and
//! the decision both the filter and the broker take for every POSTed message ([`decide`]):
//! parse → decide → apply; and what a 2026-07-28 result must carry that older servers omit,
//! completed byte-wise ([`stateless_result`]).

pub mod decide;
pub mod era;
pub mod method;
pub mod refusal;
pub mod stateless_result;
pub mod tasks;

pub use decide::{check_scope, decide, Answer, Decided, Decision, Named, Route, StandardHeaders};
pub use era::Era;
pub use method::{Class, Method, Target};
pub use refusal::{Reason, Refusal};
