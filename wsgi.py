from gridgov import create_app

app = create_app()
