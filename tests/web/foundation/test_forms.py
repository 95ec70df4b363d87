"""A schema's refusals land next to the fields a person typed them in; the rest at the top of the form."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import BaseModel, Field, ValidationError, model_validator

from polyflow.web.forms import Form


class Line(BaseModel):
    name: str = Field(max_length=3)
    quantity: Decimal = Field(gt=0)
    from_location: str | None = None

    @model_validator(mode="after")
    def _rule(self):
        raise ValueError("a rule over several fields")


def refusal(**data) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        Line(**data)
    return caught.value


def test_errors_go_to_the_posted_fields_and_the_rest_to_the_top():
    f = Form({"name": "long name", "quantity": "0"})
    f.schema_errors(refusal(name="long name", quantity="0"))
    assert set(f.errors) == {"name", "quantity"}
    assert "3" in f.errors["name"]

    f = Form({"name": "ok"})
    f.schema_errors(refusal(name="ok", quantity="1"))
    assert f.errors == {"__all__": "a rule over several fields"}  # the "Value error, " prefix is pydantic's


def test_fields_rename_and_a_placer_of_their_own():
    f = Form({})
    f.schema_errors(refusal(name="long name", quantity="1", from_location="x"), fields=("name",),
                    rename={"name": "title"})
    assert set(f.errors) == {"title"}

    placed: list[str] = []
    f = Form({"name": "ok", "quantity": "1"})
    f.schema_errors(refusal(name="ok", quantity="1"), other=placed.append)
    assert placed == ["a rule over several fields"] and f.ok
