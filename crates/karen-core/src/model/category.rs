//! `service_categories` (schema-design.md section 3.1, decisions.md items 1 and 11).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::entity::{Entity, EntityKind, Unique};
use crate::error::{StoreError, StoreResult};

/// The deepest a category may sit: a root has depth 1 (decisions.md item 11).
pub const MAX_CATEGORY_DEPTH: usize = 8;

crate::entity_struct! {
    /// A node of the service category tree.
    pub struct ServiceCategory {
        /// Primary key.
        pub id: Uuid = Uuid,
        /// Display name, unique (at most 100 characters).
        pub name: String = Text,
        /// URL slug, unique.
        pub slug: String = Text,
        /// Description.
        pub description: Option<String> = Text,
        /// Parent category; none for a root. Never a cycle.
        pub parent_category_id: Option<Uuid> = Uuid,
        /// Icon address.
        pub icon_url: Option<String> = Text,
        /// Order among siblings.
        pub sort_order: i32 = Int,
        /// Inactive categories hide their services from search.
        pub is_active: bool = Bool,
        /// SEO title.
        pub seo_title: Option<String> = Text,
        /// SEO description.
        pub seo_description: Option<String> = Text,
        /// Set by the store on create.
        pub created_at: DateTime<Utc> = Timestamp,
        /// Set by the store on every update.
        pub updated_at: DateTime<Utc> = Timestamp,
    }
}

impl Default for ServiceCategory {
    fn default() -> Self {
        ServiceCategory {
            id: Uuid::nil(),
            name: String::new(),
            slug: String::new(),
            description: None,
            parent_category_id: None,
            icon_url: None,
            sort_order: 0,
            is_active: true,
            seo_title: None,
            seo_description: None,
            created_at: DateTime::<Utc>::UNIX_EPOCH,
            updated_at: DateTime::<Utc>::UNIX_EPOCH,
        }
    }
}

impl Entity for ServiceCategory {
    const KIND: EntityKind = EntityKind::ServiceCategory;
    const IMMUTABLE: &'static [&'static str] = &["id", "created_at", "updated_at"];
    const FILTERS: &'static [&'static str] = &["parent_category_id", "is_active"];
    const UNIQUES: &'static [Unique] = &[
        Unique::new("uq__service_categories__name", &["name"], "name must be unique"),
        Unique::new("uq__service_categories__slug", &["slug"], "slug must be unique"),
    ];
    const TREE_PARENT: Option<&'static str> = Some("parent_category_id");
    super::record_methods!();

    crate::field_rules!(name: Text(100), slug: Slug(100), icon_url: MaxLen(500), seo_title: MaxLen(200));

    fn validate(&mut self) -> StoreResult<()> {
        self.check_rules()?;
        if self.parent_category_id == Some(self.id) {
            return Err(StoreError::invalid("parent_category_id", "a category cannot be its own parent"));
        }
        Ok(())
    }

    fn stamp(&mut self, now: DateTime<Utc>, creating: bool) {
        if creating {
            self.created_at = now;
        }
        self.updated_at = now;
    }
}
