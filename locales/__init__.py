"""Translation catalogs (gettext ``.po``), one folder per language, read with Babel."""
