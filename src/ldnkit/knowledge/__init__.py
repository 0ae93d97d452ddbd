"""The cited knowledge base: sources, conditions, side effects, mechanisms, statements, conflicts.

`knowledge_base()` loads and validates the YAML in `knowledge/data/` once per process;
every record in it carries source ids that resolve in `sources.yaml`.
"""

from ldnkit.knowledge.base import KnowledgeBase, KnowledgeError, knowledge_base
from ldnkit.knowledge.models import (
    Alternative,
    Condition,
    Conflict,
    Mechanism,
    SideEffect,
    Source,
    Statement,
)

__all__ = [
    "Alternative",
    "Condition",
    "Conflict",
    "KnowledgeBase",
    "KnowledgeError",
    "Mechanism",
    "SideEffect",
    "Source",
    "Statement",
    "knowledge_base",
]
