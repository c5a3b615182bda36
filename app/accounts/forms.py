from __future__ import annotations

from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from app.accounts.models import ROLE_LABELS
from app.forms import Form, choice_list


class LoginForm(Form):
    username = StringField("用户名", validators=[DataRequired("请输入用户名"), Length(max=50)])
    password = PasswordField("密码", validators=[DataRequired("请输入密码"), Length(max=200)])


class UserForm(Form):
    username = StringField("用户名", validators=[DataRequired("请输入用户名"), Length(max=50)])
    display_name = StringField("姓名", validators=[DataRequired("请输入姓名"), Length(max=50)])
    role = SelectField("角色", choices=choice_list(ROLE_LABELS.items()))
    district_id = SelectField("所属区", coerce=int, choices=[])
    # Optional here: an 接口账号 has none; create_user refuses a person's missing or weak password.
    password = PasswordField("初始密码", validators=[Length(max=200)])


class PasswordResetForm(Form):
    password = PasswordField("新密码", validators=[DataRequired("请输入新密码"), Length(max=200)])


class ChangePasswordForm(Form):
    current = PasswordField("当前密码", validators=[DataRequired("请输入当前密码")])
    password = PasswordField("新密码", validators=[DataRequired("请输入新密码"), Length(max=200)])


class MoveDistrictForm(Form):
    district_id = SelectField("调整到", coerce=int, choices=[])


class ContactForm(Form):
    email = StringField("电子邮箱", validators=[Length(max=200)])
    mobile = StringField("手机号", validators=[Length(max=20)])
