"""Attribution lines every map, page and export must carry (from the sources' licences)."""

from __future__ import annotations

N03 = "国土数値情報（行政区域データ）（国土交通省）を加工して作成"
GEOLONIA = "Geolonia 住所データ (CC BY 4.0)"
MLIT_ISJ = "国土交通省 位置参照情報"
CENSUS = "総務省統計局 令和2年国勢調査"
MHLW_CARE = "厚生労働省 介護サービス情報公表システム"
GSI_TILES = "地理院タイル（国土地理院）"

#: The lines for anything built on the reference store.
REFERENCE_ATTRIBUTION: tuple[str, ...] = (N03, GEOLONIA, MLIT_ISJ, CENSUS)


def attribution_text(extra: tuple[str, ...] = ()) -> str:
    """One line for a map footer or an export header: 出典 followed by every source."""
    return "出典: " + " / ".join((*REFERENCE_ATTRIBUTION, *extra))


#: Credit for the census small areas (小地域), added when a store holds them.
SMALL_AREA_ATTRIBUTION = "総務省統計局 令和2年国勢調査（小地域集計）"
