pub mod audit_table;
pub mod chart;
pub mod endpoint_form;
pub mod form;
pub mod gate;
pub mod layout;
