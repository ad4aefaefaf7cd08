"""Renders a table of squares with numpy, pandas and jinja2."""

import jinja2
import numpy
import pandas

TEMPLATE = jinja2.Template("{% for n, sq in rows %}{{ n }}\t{{ sq }}\n{% endfor %}")


def render(count):
    frame = pandas.DataFrame({"n": numpy.arange(count)})
    frame["sq"] = frame["n"] ** 2
    return TEMPLATE.render(rows=frame.itertuples(index=False))
