"""督办统计 for the street centre: figures from civic.complaints.stats, as SVG charts, a table and CSV."""

from __future__ import annotations

import csv
import io

from flask import Response, render_template, request

from civic.complaints import stats
from civic.complaints.service import STATUS_NAMES
from civic.console.blueprint import bp, staff_page
from civic.console.charts import bar_chart
from civic.core.db import parse_id


def _figures(user):
    org = request.args.get("org")
    return stats.street_figures(user, parse_id(org))


@bp.get("/oversight")
@staff_page("street_centre")
def oversight(user):
    """各组织案件数、超期数、签收与办结时长中位数、满意度（图表与表格）。"""
    f = _figures(user)
    rows = f["rows"]
    charts = [
        bar_chart([(r.name, r.open) for r in rows], title="未办结案件数", unit=" 件", chart_id="chart-open"),
        bar_chart([(r.name, r.overdue) for r in rows], title="超期案件数", unit=" 件", colour="#9a3412",
                  chart_id="chart-overdue"),
        bar_chart([(r.name, r.median_ack_hours) for r in rows], title="签收时长中位数", unit=" 小时",
                  colour="#0f766e", chart_id="chart-ack"),
        bar_chart([(r.name, r.median_resolve_hours) for r in rows], title="办结时长中位数", unit=" 小时",
                  colour="#4338ca", chart_id="chart-resolve"),
        bar_chart([(r.name, r.satisfaction_pct) for r in rows], title="满意率", unit="%", colour="#166534",
                  chart_id="chart-satisfaction"),
    ]
    titles = ["未办结案件数", "超期案件数", "签收时长中位数（小时）", "办结时长中位数（小时）", "满意率（评价 3-5 分）"]
    return render_template("console/oversight.html", f=f, charts=list(zip(titles, charts, strict=True)),
                           status_names=STATUS_NAMES)


@bp.get("/oversight.csv")
@staff_page("street_centre")
def oversight_csv(user):
    """同一组数字的 CSV 下载（UTF-8 带 BOM，Excel 直接打开不乱码）。"""
    buf = io.StringIO()
    csv.writer(buf).writerows(stats.csv_rows(_figures(user)))
    resp = Response("\ufeff" + buf.getvalue(), mimetype="text/csv")
    resp.headers["Content-Disposition"] = "attachment; filename=oversight.csv"
    return resp
