//! [`KarenMcp`]: the MCP server handler over a [`Karen`], and its two transports.

use std::sync::Arc;

use karen_core::model::{ApiToken, Scope};
use karen_core::{Karen, Store};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, Implementation, ListToolsResult, PaginatedRequestParams,
    ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};

use crate::tools::{self, TOOLS};

/// Who is calling, which decides the tools listed and callable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// A local user with this scope (`karen mcp` over stdio: whoever can read the database
    /// file or URL; `--read-only` gives read).
    Local(Scope),
    /// The bearer token of each HTTP request, put in its extensions by `karen serve`'s auth layer.
    Token,
}

/// karen's MCP server handler.
pub struct KarenMcp<S> {
    karen: Arc<Karen<S>>,
    access: Access,
}

impl<S> Clone for KarenMcp<S> {
    fn clone(&self) -> Self {
        KarenMcp { karen: self.karen.clone(), access: self.access }
    }
}

const INSTRUCTIONS: &str = "karen is the data layer of an AI secretary for a home-services business. \
    When a customer's message arrives, call get_reply_context (by customer_id, or by medium and \
    external_id) before answering; quote prices with quote, never from memory; check \
    get_contact_plan before sending anything; record what you send with record_message and what you \
    learn about the customer with record_observation. Errors name the argument and the rule it broke.";

impl<S: Store> KarenMcp<S> {
    /// A handler over `karen` for callers with `access`.
    pub fn new(karen: Arc<Karen<S>>, access: Access) -> Self {
        KarenMcp { karen, access }
    }

    /// Whether the caller of `ctx` may use a tool that needs `needed`.
    fn allows(&self, ctx: &RequestContext<RoleServer>, needed: Scope) -> bool {
        match self.access {
            Access::Local(scope) => scope >= needed,
            Access::Token => ctx
                .extensions
                .get::<http::request::Parts>()
                .and_then(|parts| parts.extensions.get::<ApiToken>())
                .is_some_and(|token| token.allows(needed)),
        }
    }
}

impl<S: Store> ServerHandler for KarenMcp<S> {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("karen", env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let tools = TOOLS
            .iter()
            .filter(|t| self.allows(&ctx, t.scope))
            .map(|t| rmcp::model::Tool::new(t.name, t.description, (t.schema)()))
            .collect();
        Ok(ListToolsResult::with_all_items(tools))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let name = request.name.as_ref();
        let Some(tool) = TOOLS.iter().find(|t| t.name == name) else {
            return Err(ErrorData::invalid_params(format!("no tool named {name:?}"), None));
        };
        if !self.allows(&ctx, tool.scope) {
            return Ok(CallToolResult::structured_error(serde_json::json!({
                "error": "forbidden", "field": null, "rule": format!("needs the {} scope", tool.scope.as_str()),
                "message": format!("{} needs a token with the {} scope", tool.name, tool.scope.as_str())
            }))
            .into());
        }
        let args = request.arguments.unwrap_or_default();
        let result = tools::call(&self.karen, tool.name, args).await.expect("every listed tool has a handler");
        Ok(match result {
            Ok(value) => CallToolResult::structured(value),
            Err(failure) => CallToolResult::structured_error(failure.0),
        }
        .into())
    }
}

/// The streamable HTTP transport of karen's MCP server, to mount at `/mcp` behind the bearer
/// token layer. Stateless (each POST is answered on its own, as JSON), so it scales like the
/// rest of the API, needs no session store, and holds no stream open past a request (the
/// server's graceful shutdown and request timeout cover it).
pub fn http_service<S: Store>(karen: Arc<Karen<S>>) -> StreamableHttpService<KarenMcp<S>, NeverSessionManager> {
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        // Every request carries a bearer token; Host checks guard unauthenticated local servers.
        .disable_allowed_hosts();
    StreamableHttpService::new(
        move || Ok(KarenMcp::new(karen.clone(), Access::Token)),
        Arc::new(NeverSessionManager::default()),
        config,
    )
}

/// Serves MCP over stdin and stdout until the client closes them.
pub async fn serve_stdio<S: Store>(karen: Arc<Karen<S>>, scope: Scope) -> std::io::Result<()> {
    let service = KarenMcp::new(karen, Access::Local(scope))
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    service.waiting().await.map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(())
}
