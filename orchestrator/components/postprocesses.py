"""Postprocesses: report transforms on the host, with MLonMCU's names and config keys."""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import field_validator, model_validator

from orchestrator.components.base import ComponentConfig, Postprocess, setting

if TYPE_CHECKING:
    import pandas as pd

_PLAIN_LIST = re.compile(r"^[A-Za-z\d\-_ .\[\]]+(,[A-Za-z\d\-_ .\[\]]+)*$")


def parse_list(value: Any) -> list[str] | None:
    """`"A,B"` or a Python/YAML list literal → list of column names."""
    if value is None or isinstance(value, list):
        return value
    text = str(value).strip()
    if not text:
        return []
    if _PLAIN_LIST.match(text):
        return [part.strip() for part in text.split(",")]
    parsed = ast.literal_eval(text)
    if not isinstance(parsed, (list, tuple)):
        raise ValueError(f"expected a list of names, got {text!r}")
    return [str(x) for x in parsed]


def parse_mapping(value: Any) -> dict[str, str]:
    """`"{'A': 'B'}"` or `"A:B,C:D"` or a dict → mapping old → new column name."""
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    text = str(value).strip()
    if text.startswith("{"):
        parsed = ast.literal_eval(text)
        if not isinstance(parsed, dict):
            raise ValueError(f"expected a mapping, got {text!r}")
        return {str(k): str(v) for k, v in parsed.items()}
    pairs = [p.split(":", 1) for p in text.split(",") if p.strip()]
    if any(len(p) != 2 for p in pairs):
        raise ValueError(f"expected 'old:new,...' or a dict literal, got {text!r}")
    return {a.strip(): b.strip() for a, b in pairs}


class _ListValidators(ComponentConfig):
    @field_validator("*", mode="before")
    @classmethod
    def _lists(cls, value: Any, info: Any) -> Any:
        field = cls.model_fields[info.field_name]
        if field.annotation in (list[str] | None, list[str]):
            return parse_list(value)
        return value


class FilterColsConfig(_ListValidators):
    keep: list[str] | None = setting(None, description="columns to keep (drop all others)")
    drop: list[str] | None = setting(None, description="columns to drop")
    drop_nan: bool = setting(False, description="drop columns that are NaN in every row")
    drop_const: bool = setting(False, description="drop columns with one value in every row")

    @model_validator(mode="after")
    def _exclusive(self) -> FilterColsConfig:
        if self.keep is not None and self.drop is not None:
            raise ValueError("'keep' and 'drop' cannot both be set")
        return self


class FilterCols(Postprocess):
    """Keep or drop report columns."""

    name = "filter_cols"
    Config = FilterColsConfig

    def apply(self, df: pd.DataFrame, config: FilterColsConfig) -> pd.DataFrame:
        if config.drop_nan:
            df = df.dropna(axis=1, how="all")
        if config.drop_const and len(df) > 0:
            df = df.loc[:, [df[c].astype(str).nunique(dropna=False) > 1 for c in df.columns]]
        if config.keep is not None:
            return df[[c for c in df.columns if c in config.keep]]
        if config.drop is not None:
            return df.drop(columns=[c for c in df.columns if c in config.drop])
        return df


class RenameColsConfig(ComponentConfig):
    mapping: dict[str, str] = setting({}, description="old name → new name")
    merge: bool = setting(True, description="merge columns that end up with the same name")

    @field_validator("mapping", mode="before")
    @classmethod
    def _mapping(cls, value: Any) -> Any:
        return parse_mapping(value)


class RenameCols(Postprocess):
    """Rename report columns; columns renamed to the same name are merged (first non-NaN)."""

    name = "rename_cols"
    Config = RenameColsConfig

    def apply(self, df: pd.DataFrame, config: RenameColsConfig) -> pd.DataFrame:
        import pandas as pd

        df = df.rename(columns=config.mapping)
        if not config.merge or df.columns.is_unique:
            return df
        merged: dict[str, pd.Series] = {}
        for i, name in enumerate(df.columns):
            column = df.iloc[:, i]
            merged[name] = merged[name].combine_first(column) if name in merged else column
        return pd.DataFrame(merged, index=df.index)


class ExplodeConfig(_ListValidators):
    limit: list[str] = setting([], description="only these keys (empty: all)")
    drop: bool = setting(True, description="drop the original column")


class _ExplodeColumn(Postprocess):
    """Replace the report column `column` (one value per run) by one column per key."""

    Config = ExplodeConfig
    column: ClassVar[str]

    def explode(self, values: pd.Series, limit: list[str]) -> pd.DataFrame:
        """The new columns, on the index of `values`; `limit` (when not empty) selects keys."""
        raise NotImplementedError(f"{type(self).__name__}.explode")

    def apply(self, df: pd.DataFrame, config: ExplodeConfig) -> pd.DataFrame:
        import pandas as pd

        if self.column not in df.columns:
            return df
        extra = self.explode(df[self.column], config.limit)
        base = df.drop(columns=[self.column]) if config.drop else df
        return pd.concat([base, extra], axis=1)


class Config2Cols(_ExplodeColumn):
    """Explode the `Config` column into `config_<key>` columns."""

    name = "config2cols"
    column = "Config"

    def explode(self, values: pd.Series, limit: list[str]) -> pd.DataFrame:
        import pandas as pd

        rows = [{k: v for k, v in (cfg or {}).items() if not limit or k in limit} for cfg in values]
        return pd.DataFrame(rows, index=values.index).add_prefix("config_")


class Features2Cols(_ExplodeColumn):
    """Explode the `Features` column into boolean `feature_<name>` columns."""

    name = "features2cols"
    column = "Features"

    def explode(self, values: pd.Series, limit: list[str]) -> pd.DataFrame:
        import pandas as pd

        names = sorted({f for feats in values for f in (feats or [])})
        names = [n for n in names if not limit or n in limit]
        return pd.DataFrame({f"feature_{n}": [n in (feats or []) for feats in values] for n in names},
                            index=values.index)


class Bytes2kB(Postprocess):
    """Scale memory columns (names containing ROM or RAM) from bytes to kB (1000 B)."""

    name = "bytes2kb"
    Config = ComponentConfig

    def apply(self, df: pd.DataFrame, config: ComponentConfig) -> pd.DataFrame:
        import pandas as pd

        df = df.copy()
        renames = {}
        for column in df.columns:
            if ("ROM" in column or "RAM" in column) and "kB" not in column:
                df[column] = pd.to_numeric(df[column], errors="coerce") / 1000.0
                renames[column] = f"{column} [kB]"
        return df.rename(columns=renames)


ALL = [FilterCols, RenameCols, Config2Cols, Features2Cols, Bytes2kB]
