//! The category tree: children, ancestors, and the rules a move must keep (no cycles, at most
//! [`MAX_CATEGORY_DEPTH`] levels, decisions.md item 11), which need more than one row.

use uuid::Uuid;

use super::Karen;
use crate::entity::Entity;
use crate::error::{StoreError, StoreResult};
use crate::model::category::MAX_CATEGORY_DEPTH;
use crate::model::ServiceCategory;
use crate::store::Store;
use crate::value::Value;

impl<S: Store> Karen<S> {
    /// Children of a category, or the roots for `None`.
    pub async fn category_children(&self, parent: Option<Uuid>) -> StoreResult<Vec<ServiceCategory>> {
        if let Some(p) = parent {
            self.store.get::<ServiceCategory>(p).await?;
        }
        self.store.category_children(parent).await
    }

    /// Ancestors of a category, nearest first.
    pub async fn category_ancestors(&self, id: Uuid) -> StoreResult<Vec<ServiceCategory>> {
        self.store.category_ancestors(id).await
    }

    /// The rules a new row must meet that need other rows: for an entity in a tree
    /// ([`Entity::TREE_PARENT`]), its parent's.
    pub(crate) async fn check_relations<E: Entity>(&self, entity: &E) -> StoreResult<()> {
        let Some(field) = E::TREE_PARENT else { return Ok(()) };
        let parent = entity.to_record().values.into_iter().find(|(n, _)| *n == field).map(|(_, v)| v);
        match parent {
            Some(Value::Uuid(parent)) => self.check_tree_parent(field, entity.id(), Some(parent)).await,
            _ => Ok(()),
        }
    }

    /// The category tree has no cycles and is at most [`MAX_CATEGORY_DEPTH`] deep
    /// (decisions.md item 11), counting the subtree that moves with `id`; `field` names the
    /// parent field in errors.
    pub(crate) async fn check_tree_parent(&self, field: &str, id: Uuid, parent: Option<Uuid>) -> StoreResult<()> {
        let Some(parent) = parent else { return Ok(()) };
        if parent == id {
            return Err(StoreError::invalid(field, "a category cannot be its own parent"));
        }
        let ancestors = match self.store.category_ancestors(parent).await {
            Ok(a) => a,
            Err(StoreError::NotFound { .. }) => return Err(StoreError::missing_reference(field)),
            Err(e) => return Err(e),
        };
        if ancestors.iter().any(|a| a.id == id) {
            return Err(StoreError::invalid(field, "would make the category its own ancestor (a cycle)"));
        }
        let parent_depth = ancestors.len() + 1;
        let subtree = self.subtree_height(id).await?;
        if parent_depth + subtree > MAX_CATEGORY_DEPTH {
            return Err(StoreError::invalid(
                field,
                format!("the category tree may be at most {MAX_CATEGORY_DEPTH} levels deep"),
            ));
        }
        Ok(())
    }

    /// Levels in the subtree rooted at `id` (1 for a leaf or a category not yet stored).
    async fn subtree_height(&self, id: Uuid) -> StoreResult<usize> {
        let mut level = vec![id];
        let mut height = 0;
        while !level.is_empty() && height <= MAX_CATEGORY_DEPTH {
            height += 1;
            let mut next = Vec::new();
            for node in level {
                next.extend(self.store.category_children(Some(node)).await?.into_iter().map(|c| c.id));
            }
            level = next;
        }
        Ok(height)
    }
}
