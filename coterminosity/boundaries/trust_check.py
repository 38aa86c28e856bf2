"""An independent check on apportioning councils: trust shares by footprint, derived here, against
a published table of the same shares (OHID's by ICB).

Where a trust draws only on councils lying whole in one footprint, no apportioning happens and
the derived shares must equal the published ones (to 1e-9). Where it draws on councils split
between footprints, the derived shares apportion those councils by population, while the
published ones were modelled from smaller areas: they differ, and the table says by how much.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..errors import InputError
from ..geo.flows import FlowInputs
from ..geo.layer import Layer
from .placement import origin_footprints, weighted_flows

EQUAL = 1e-9  # shares equal to this are the same number written twice


@dataclass
class ShareCheck:
    """Per trust: the largest difference between derived and published shares by footprint, and
    how much of its catchment lives in councils split between footprints."""

    table: pd.DataFrame  # trust, name, split_share, split_councils, largest_difference, in_footprint, derived, published, agrees
    pairs: pd.DataFrame  # trust, footprint, derived, published, difference
    label: str
    source: str

    def header(self) -> list[str]:
        """What was compared."""
        return [f"check: shares of each trust's catchment by {self.label} derived here (councils apportioned by "
                f"population) against {self.source}",
                "split_share: share of the trust's catchment living in councils split between footprints; "
                "largest_difference: the largest |derived − published| over footprints, in shares (0.24 = 24 points)"]

    def lines(self) -> list[str]:
        """How many trusts agree, and where they differ most."""
        t = self.table
        whole = t[t["split_share"] == 0]
        split = t[t["split_share"] > 0]
        out = [f"{len(whole)} trusts draw only on councils lying whole in one footprint: "
               f"{int(whole['agrees'].sum())} agree to {EQUAL:g} (largest difference {whole['largest_difference'].max():.1e})"]
        if len(split):
            worst = split.sort_values("largest_difference", ascending=False).iloc[0]
            out.append(f"{len(split)} trusts draw on split councils: {int((~split['agrees']).sum())} differ; most "
                       f"{worst['name']} ({worst.trust}) by {100 * worst.largest_difference:.1f} points in "
                       f"{worst.in_footprint} (through {worst.split_councils})")
        return out

    def meta(self) -> dict:
        """The facts JSON carries beside the rows."""
        return {"footprints": self.label, "against": self.source, "trusts": len(self.table),
                "agree": int(self.table["agrees"].sum())}


def check_shares(inputs: FlowInputs, footprints: Layer, published: pd.DataFrame, source: str = "published shares") -> ShareCheck:
    """Compare each trust's shares by footprint, derived from the flows, with ``published``
    (``trust``, ``footprint``, ``share``)."""
    unknown = sorted(set(published["footprint"]) - set(footprints.codes))
    if unknown:
        raise InputError(f"{source}: {len(unknown)} footprint codes are not {footprints.label} units "
                         f"(e.g. {', '.join(unknown[:3])}); compare with the footprint layer the file is by")
    pairs = inputs.flows.pairs()
    origins, _ = origin_footprints(inputs.small, footprints, inputs.population)
    flows = weighted_flows(pairs, origins)
    derived = flows.groupby(["dest", "footprint"])["count"].sum()
    derived = (derived / derived.groupby(level="dest").transform("sum")).rename("derived").reset_index()
    derived = derived.rename(columns={"dest": "trust"})
    pub = published[published["trust"].isin(set(pairs["dest"]))][["trust", "footprint", "share"]]
    both = derived.merge(pub.rename(columns={"share": "published"}), on=["trust", "footprint"], how="outer")
    both = both.fillna({"derived": 0.0, "published": 0.0})
    both["difference"] = both["derived"] - both["published"]
    split_codes = set(origins.loc[origins["small_code"].duplicated(keep=False), "small_code"])
    total = pairs.groupby("dest")["count"].sum()
    in_split = pairs[pairs["origin"].isin(split_codes)]
    split_share = in_split.groupby("dest")["count"].sum() / total
    small_names = inputs.small.names()
    named = in_split.sort_values("count", ascending=False).groupby("dest")["origin"].agg(
        lambda s: ", ".join(small_names.get(c, c) for c in s.head(3)))
    both["abs"] = both["difference"].abs()
    worst = both.sort_values(["trust", "abs"], ascending=[True, False]).drop_duplicates("trust").set_index("trust")
    fp_names = footprints.names()
    table = pd.DataFrame({"trust": worst.index})
    table["name"] = table["trust"].map(lambda c: inputs.flows.names.get(c, c))
    table["split_share"] = table["trust"].map(split_share).fillna(0.0)
    table["split_councils"] = table["trust"].map(named).fillna("")
    table["largest_difference"] = table["trust"].map(worst["abs"])
    table["in_footprint"] = table["trust"].map(worst["footprint"]).map(lambda c: fp_names.get(c, c or "(outside)"))
    table["derived"] = table["trust"].map(worst["derived"])
    table["published"] = table["trust"].map(worst["published"])
    table["agrees"] = table["largest_difference"] <= EQUAL
    table = table.sort_values(["largest_difference", "trust"], ascending=[False, True]).reset_index(drop=True)
    both = both.drop(columns="abs").sort_values(["trust", "footprint"]).reset_index(drop=True)
    return ShareCheck(table, both, footprints.label, source)

