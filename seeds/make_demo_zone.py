"""Regenerate seeds/demo_zone.geojson: a demo zone whose areas tile their parents exactly.

Codes follow the national statistical division scheme (12 digits for district, town and
community/village), extended by two digits for the grid and two for the micro-grid. The zone is
modelled on a high-tech zone near lon 113.2, lat 33.75; names and codes are for demonstration.

    python seeds/make_demo_zone.py > seeds/demo_zone.geojson
"""

import json

STEP = 0.0025  # degrees; every corner is a multiple of this, so shared edges are identical


def box(x0: int, y0: int, x1: int, y1: int) -> dict:
    """A rectangle from grid units (multiples of STEP east of 113.18 and north of 33.74)."""

    def pt(x, y):
        return [round(113.18 + x * STEP, 6), round(33.74 + y * STEP, 6)]

    ring = [pt(x0, y0), pt(x1, y0), pt(x1, y1), pt(x0, y1), pt(x0, y0)]
    return {"type": "Polygon", "coordinates": [ring]}


def feature(code, name, level, parent_code, geometry):
    return {
        "type": "Feature",
        "properties": {"code": code, "name": name, "level": level, "parent_code": parent_code},
        "geometry": geometry,
    }


TOWNS = [
    ("410471001000", "皇台街道", 0, [("410471001001", "锦华社区"), ("410471001002", "湖滨社区")]),
    ("410471100000", "遵化店镇", 8, [("410471100201", "杨庄村"), ("410471100202", "李营村")]),
]


def build() -> dict:
    features = [feature("410471000000", "平顶山高新区（演示）", "district", None, box(0, 0, 16, 8))]
    for town_code, town_name, x_town, communities in TOWNS:
        features.append(feature(town_code, town_name, "town", "410471000000", box(x_town, 0, x_town + 8, 8)))
        for c_index, (c_code, c_name) in enumerate(communities):
            y0 = c_index * 4
            features.append(
                feature(c_code, c_name, "community", town_code, box(x_town, y0, x_town + 8, y0 + 4))
            )
            for g_index in range(2):
                g_code = f"{c_code}{g_index + 1:02d}"
                gx = x_town + g_index * 4
                features.append(
                    feature(
                        g_code, f"{c_name}第{g_index + 1}网格", "grid", c_code, box(gx, y0, gx + 4, y0 + 4)
                    )
                )
                for m_index in range(4):
                    mx, my = gx + (m_index % 2) * 2, y0 + (m_index // 2) * 2
                    features.append(
                        feature(
                            f"{g_code}{m_index + 1:02d}",
                            f"{c_name}{g_index + 1}-{m_index + 1}微网格",
                            "micro_grid",
                            g_code,
                            box(mx, my, mx + 2, my + 2),
                        )
                    )
    return {"type": "FeatureCollection", "features": features}


if __name__ == "__main__":
    print(json.dumps(build(), ensure_ascii=False, indent=1))
